"""g4f_sync.compat: the urllib3 and http.client internals the SDK relies on are there and
mean what it expects; when they do not, the suite fails here, loudly, while users fall
back to the slower public path."""

from __future__ import annotations

import http.client
import time

import urllib3.response
from support import HI_THERE
from urllib3.connection import HTTPConnection

from g4f_sync import compat
from g4f_sync.emulator import Emulator
from g4f_sync.Provider import Koala


def test_the_internals_relied_on_are_as_expected_on_the_installed_versions() -> None:
    assert compat.probe() == [], (
        "urllib3 or http.client changed under g4f_sync.compat; adapt it or cap the version"
    )


def test_the_probe_names_what_is_missing_or_means_something_else(monkeypatch) -> None:
    monkeypatch.setattr(compat, "_probed", None)
    monkeypatch.delattr(urllib3.response.HTTPResponse, "shutdown")
    monkeypatch.setattr(HTTPConnection, "connect", lambda self: None)
    monkeypatch.setattr(urllib3.response.HTTPResponse, "tell", lambda self: 0)
    problems = compat.probe()
    assert "urllib3 HTTPConnection.connect() no longer calls _new_conn()" in problems
    assert "urllib3 HTTPResponse.shutdown() is missing (urllib3 >= 2.3 has it)" in problems
    assert "tell() counts _fp_bytes_read: no" in problems


def test_a_failed_probe_turns_the_whole_chunks_path_off_and_reading_still_works(
    emu: Emulator, monkeypatch
) -> None:
    monkeypatch.setattr(compat, "_probed", ["something changed"])
    calls = []
    real = compat._whole_chunks_reader
    monkeypatch.setattr(compat, "_whole_chunks_reader", lambda raw: calls.append(raw) or real(raw))
    tokens = list(emu.provider(Koala, count=50).create_completion("", HI_THERE))
    assert tokens == [f"tok{i} " for i in range(50)]
    assert calls == []  # read1 alone read the answer


def test_responses_read_through_a_large_buffer_so_whole_chunks_come_in_large_pieces(
    emu: Emulator,
) -> None:
    from g4f_sync.http import Transport, iter_body

    transport = Transport()
    try:
        response = transport.post(emu.url + "/api/gpt/?count=5000", json={"input": "x"})
        assert isinstance(response.raw._fp, compat._LargeBufferResponse)
        time.sleep(0.2)  # the server writes the whole answer into the socket buffers
        pieces = list(iter_body(response))
    finally:
        transport.close()
    assert b"".join(pieces).count(b"data: ") == 5000
    assert max(map(len, pieces)) > 8192  # http.client's own buffer holds 8 KiB


def test_the_probe_names_a_getresponse_that_ignores_response_class(monkeypatch) -> None:
    monkeypatch.setattr(compat, "_probed", None)
    monkeypatch.setattr(http.client.HTTPConnection, "getresponse", lambda self: None)
    assert "http.client HTTPConnection.getresponse() ignores response_class" in compat.probe()


def test_the_direct_probe_passes_here_and_names_another_system(monkeypatch) -> None:
    assert compat.probe_direct() == []  # Linux, this urllib3: the direct reader applies
    monkeypatch.setattr(compat, "_probed_direct", None)
    monkeypatch.setattr(compat.sys, "platform", "darwin")
    assert compat.probe_direct() == [
        "SO_RCVTIMEO is relied on as Linux has it, not as darwin has it"
    ]
    assert compat.direct_parts(object()) is None
