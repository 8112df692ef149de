"""The pytest plugin (``g4f_sync.pytest_plugin``): the ``g4f_emulator`` fixture, loaded
through the ``pytest11`` entry point, as a user's own test run gets it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from support import junit_outcomes, run_pytest

from g4f_sync import errors
from g4f_sync.emulator import Emulator, OpenAIOptions
from g4f_sync.Provider import Koala

HI = [{"role": "user", "content": "Hi there"}]


def test_the_entry_point_names_the_plugin_module() -> None:
    plugins = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert plugins.get("g4f_sync") == "g4f_sync.pytest_plugin"


def test_importing_the_package_loads_neither_pytest_nor_the_plugin() -> None:
    code = (
        "import sys, json, g4f_sync, g4f_sync.emulator; "
        "print(json.dumps([m for m in ('pytest', '_pytest', 'g4f_sync.pytest_plugin')"
        " if m in sys.modules]))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []


def test_this_suite_has_the_fixture_too(g4f_emulator: Emulator) -> None:
    client = g4f_emulator.client(max_retries=0)
    assert client.chat.completions.create(HI, "m").choices[0].message.content == "Hi there"
    assert [r.path for r in g4f_emulator.requests] == ["/v1/chat/completions"]
    g4f_emulator.openai = OpenAIOptions(fault="rate_limit")
    with pytest.raises(errors.RateLimitError):
        client.chat.completions.create(HI, "m")
    assert g4f_emulator.request_count == 2


USERS_TESTS = """
import socket

import pytest

from g4f_sync import Client, errors
from g4f_sync.emulator import KoalaOptions, OpenAIOptions
from g4f_sync.Provider import Koala

HI = [{"role": "user", "content": "Hi there"}]
seen = []


def test_a_fresh_emulator_with_the_request_log_and_faults(g4f_emulator):
    seen.append(g4f_emulator)
    client = Client(base_url=g4f_emulator.base_url, max_retries=0)
    assert client.chat.completions.create(HI, "m").choices[0].message.content == "Hi there"
    assert g4f_emulator.requests[-1].path == "/v1/chat/completions"
    g4f_emulator.openai = OpenAIOptions(fault="rate_limit")
    with pytest.raises(errors.RateLimitError):
        client.chat.completions.create(HI, "m")


def test_each_test_gets_its_own_with_the_default_options(g4f_emulator):
    previous = seen[0]
    assert g4f_emulator is not previous and g4f_emulator.requests == []
    assert g4f_emulator.openai == OpenAIOptions()
    with pytest.raises(ConnectionRefusedError):  # the previous test's emulator is closed
        socket.create_connection(("127.0.0.1", int(previous.url.rsplit(":", 1)[1])), 5)


@pytest.mark.g4f_emulator(koala=KoalaOptions(tokens=["a", "b"]), keep_requests=1)
def test_the_marker_passes_arguments(g4f_emulator):
    koala = g4f_emulator.provider(Koala)
    assert "".join(koala.create_completion("", HI)) == "ab"
    assert "".join(koala.create_completion("", HI)) == "ab"
    assert (len(g4f_emulator.requests), g4f_emulator.request_count) == (1, 2)


@pytest.mark.g4f_emulator(kaola=KoalaOptions())
def test_an_unknown_argument_is_an_error(g4f_emulator):
    pass


@pytest.mark.g4f_emulator(KoalaOptions())
def test_a_positional_argument_is_an_error(g4f_emulator):
    pass
"""


def test_users_tests_get_the_fixture_through_the_entry_point(tmp_path: Path) -> None:
    (tmp_path / "test_users.py").write_text(textwrap.dedent(USERS_TESTS), encoding="utf-8")
    done = run_pytest(tmp_path, "--strict-markers", "--junitxml=report.xml")
    found = junit_outcomes(tmp_path / "report.xml")
    assert found == {
        "test_a_fresh_emulator_with_the_request_log_and_faults": "passed",
        "test_each_test_gets_its_own_with_the_default_options": "passed",
        "test_the_marker_passes_arguments": "passed",
        "test_an_unknown_argument_is_an_error": (
            'error: failed on setup with "TypeError: Emulator() got unknown service(s)'
            ' kaola (koala, chatgptt, openai, replay)"'
        ),
        "test_a_positional_argument_is_an_error": (
            'error: failed on setup with "TypeError: @pytest.mark.g4f_emulator takes keyword'
            " arguments only (those of Emulator: koala=KoalaOptions(...),"
            ' openai=OpenAIOptions(...), keep_requests=N, ...), got 1 positional"'
        ),
    }, done.stdout + done.stderr


def test_the_marker_is_declared_for_strict_markers(tmp_path: Path) -> None:
    done = run_pytest(tmp_path, "--markers")
    assert "@pytest.mark.g4f_emulator(**arguments): arguments of the g4f_emulator" in done.stdout


def test_the_helpers_need_a_started_emulator() -> None:
    emulator = Emulator()
    for use in (lambda: emulator.base_url, emulator.client, lambda: emulator.client(Koala)):
        with pytest.raises(errors.EmulatorNotStartedError, match="use it in a with block"):
            use()


def test_the_client_helper_binds_a_provider(g4f_emulator: Emulator) -> None:
    client = g4f_emulator.client(Koala, timeout=5)
    assert client.provider is not Koala and client.provider.__name__ == "Koala"
    assert client.chat.completions.create(HI, "").choices[0].message.content == "Hi there"
    assert [r.path for r in g4f_emulator.requests] == ["/api/gpt/"]
