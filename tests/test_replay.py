"""The emulator's replay service: recordings read from the forms captures come in, and served
again over real HTTP with their status and headers, the emulator's own framing, an event
stream one event a write."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any, Optional

import pytest
import requests
from support import TIMEOUT, MakeEmulator

from g4f_sync import Client
from g4f_sync.emulator import Emulator, EmulatorProcess, Recording, ReplayOptions
from g4f_sync.emulator.cli import add_arguments, emulator_from
from g4f_sync.emulator.recording import sniff_content_type
from g4f_sync.emulator.replay import sse_events, wants_stream

CHAT = "/replay/v1/chat/completions"
MODELS = "/replay/v1/models"
HI = [{"role": "user", "content": "Hi"}]

SSE = b'data: {"a": 1}\n\ndata: {"b": 2}\r\n\r\n: a comment\nevent: x\ndata: [DONE]\n\n'
EVENTS = [
    b'data: {"a": 1}\n\n',
    b'data: {"b": 2}\r\n\r\n',
    b": a comment\nevent: x\ndata: [DONE]\n\n",
]

CAPTURE = (
    b"HTTP/1.1 429 Slow Down\r\n"
    b"date: Wed, 02 Dec 2026 02:26:19 GMT\r\n"
    b"server: uvicorn\r\n"
    b"content-length: 17\r\n"
    b"content-type: application/json\r\n"
    b"set-cookie: a=1\r\n"
    b"set-cookie: b=2\r\n"
    b"connection: keep-alive\r\n"
    b"keep-alive: timeout=5\r\n"
    b"x-litellm-call-id: ef298b53\r\n"
    b"\r\n"
    b'{"error": "slow"}'
)
STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\n"
    b"content-type: text/event-stream; charset=utf-8\r\n"
    b"Transfer-Encoding: chunked\r\n"
    b"x-accel-buffering: no\r\n"
    b"\r\n"
)


def post(emu: Emulator, query: str = "", **body: Any) -> requests.Response:
    url = emu.url + CHAT + (f"?{query}" if query else "")
    payload = {"model": "m", "messages": HI, **body}
    return requests.post(url, json=payload, stream=True, timeout=TIMEOUT)


def write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


# Reading recordings


def test_a_curl_capture_reads_as_status_reason_headers_and_body() -> None:
    recording = Recording.parse(CAPTURE)
    assert (recording.status, recording.reason, recording.body) == (
        429,
        "Slow Down",
        b'{"error": "slow"}',
    )
    assert recording.headers[:3] == (
        ("date", "Wed, 02 Dec 2026 02:26:19 GMT"),
        ("server", "uvicorn"),
        ("content-length", "17"),
    )
    assert [value for name, value in recording.headers if name == "set-cookie"] == ["a=1", "b=2"]
    assert recording.header("Content-Type") == "application/json"
    assert recording.media_type == "application/json"


def test_lf_line_ends_a_head_without_body_and_curls_http2_line_read_too() -> None:
    lf = Recording.parse(b"HTTP/1.1 200 OK\ncontent-type: text/plain\n\nline one\r\nline two")
    assert (lf.status, lf.header("content-type"), lf.body) == (
        200,
        "text/plain",
        b"line one\r\nline two",
    )
    assert Recording.parse(b"HTTP/2 204 \r\n") == Recording(204)  # no blank line: no body
    assert Recording.parse(b"HTTP/1.0 503\r\n\r\n").reason == ""


def test_a_head_and_a_body_in_two_files(tmp_path: Path) -> None:
    head = write(tmp_path, "stream.headers", STREAM_HEAD)
    body = write(tmp_path, "stream.sse", SSE)
    recording = Recording.load(head, body=body)
    assert (recording.status, recording.body, recording.media_type) == (
        200,
        SSE,
        "text/event-stream",
    )
    assert Recording.from_spec(f"{head}+{body}") == recording
    assert Recording.load(write(tmp_path, "head-only", STREAM_HEAD[:-2]), body=body) == recording


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"error": {"message": "x"}}', "application/json"),
        (b"  [1, 2]\n", "application/json"),
        (SSE, "text/event-stream; charset=utf-8"),
        (b": keep-alive\n\n", "text/event-stream; charset=utf-8"),
        (b"Internal Server Error", "text/plain; charset=utf-8"),
        (b"{not json", "text/plain; charset=utf-8"),
        (b"", "text/plain; charset=utf-8"),
    ],
)
def test_a_body_alone_gets_its_status_and_a_content_type_found_from_it(
    tmp_path: Path, body: bytes, content_type: str
) -> None:
    assert sniff_content_type(body) == content_type
    path = write(tmp_path, "body", body)
    recording = Recording.load(path, status=429)
    assert (recording.status, recording.headers, recording.body) == (
        429,
        (("Content-Type", content_type),),
        body,
    )
    assert Recording.from_spec(f"429:{path}") == recording


def test_a_body_alone_keeps_the_headers_given() -> None:
    recording = Recording.from_body(b"{}", 500, {"content-type": "text/html", "x-a": "1"})
    assert recording.headers == (("content-type", "text/html"), ("x-a", "1"))


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "no status line (the file is empty)"),
        (b"\r\nHTTP/1.1 200 OK\r\n", "no status line (it starts with a blank line)"),
        (b'data: {"a": 1}\n\n', "no status line: it starts with 'data: {\"a\": 1}', not as"),
        (b"HTTP/1.1 abc OK\r\n\r\n", "bad status line 'HTTP/1.1 abc OK': expected"),
        (b"HTTP/1.1 2000 OK\r\n\r\n", "bad status line 'HTTP/1.1 2000 OK'"),
        (b"HTTP/1.1 100 Continue\r\n\r\n", "bad status 100 in 'HTTP/1.1 100 Continue'"),
        (b"HTTP/1.1 600 Odd\r\n\r\n", "bad status 600 in 'HTTP/1.1 600 Odd'"),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "line 2 is no 'Name: value' header"),
        (b"HTTP/1.1 200 OK\r\na: 1\r\n folded: x\r\n\r\n", "line 3 is no 'Name: value'"),
        (
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nabc",
            "Content-Length says 5 but the body has 3 bytes",
        ),
        (
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nab\n",
            "Content-Length says 2 but the body has 3 bytes",
        ),
    ],
)
def test_a_bad_capture_is_a_value_error_naming_the_file_and_the_problem(
    tmp_path: Path, data: bytes, problem: str
) -> None:
    path = write(tmp_path, "capture.http", data)
    with pytest.raises(ValueError, match=f"^{re.escape(path)}: {re.escape(problem)}"):
        Recording.load(path)
    with pytest.raises(ValueError, match=f"^the recording: {re.escape(problem)}"):
        Recording.parse(data)


def test_files_that_cannot_be_read_or_do_not_fit_are_value_errors(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.http")
    with pytest.raises(ValueError, match=f"^{re.escape(missing)}: cannot read the file: No such"):
        Recording.load(missing)
    with pytest.raises(ValueError, match="cannot read the file: Is a directory"):
        Recording.load(tmp_path)
    capture = write(tmp_path, "capture.http", CAPTURE)
    body = write(tmp_path, "body", b"{}")
    with pytest.raises(ValueError, match=f"^{re.escape(capture)}: 17 bytes follow the head"):
        Recording.load(capture, body=body)
    head = write(tmp_path, "head", b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\n")
    with pytest.raises(ValueError, match=f"^{re.escape(head)} with {re.escape(body)}: Content"):
        Recording.load(head, body=body)
    with pytest.raises(ValueError, match=r"^give body= \(a head file"):
        Recording.load(head, body=body, status=200)
    with pytest.raises(ValueError, match=r"^headers= goes with status="):
        Recording.load(head, headers={"a": "b"})
    with pytest.raises(ValueError, match=f"^{re.escape(body)}: status: a recording needs a final"):
        Recording.load(body, status=99)


@pytest.mark.parametrize("spec", ["", "+body", "head+", "429:"])
def test_a_command_line_value_that_names_no_file_is_a_value_error(spec: str) -> None:
    with pytest.raises(ValueError, match=r"^expected FILE, HEAD\+BODY or STATUS:BODY, not "):
        Recording.from_spec(spec)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"status": "200"}, "status: must be an int, not '200'"),
        ({"status": True}, "status: must be an int, not True"),
        ({"status": 199}, "status: a recording needs a final status, 200 to 599, not 199"),
        ({"status": 200, "body": "text"}, "body: must be bytes, not str"),
        ({"status": 200, "reason": "OK\r\nX: y"}, "reason: must be Latin-1 text without"),
        ({"status": 200, "headers": "a: b"}, "headers: must be a mapping or (name, value)"),
        ({"status": 200, "headers": [("a",)]}, "headers: each must be a (name, value) pair"),
        (
            {"status": 200, "headers": {"bad name": "x"}},
            "headers: HTTP cannot carry the header 'bad name'",
        ),
        ({"status": 200, "headers": {"a": "x\ny"}}, "headers: HTTP cannot carry the header 'a'"),
        ({"status": 200, "headers": {"a": "☃"}}, "headers: HTTP cannot carry the header 'a'"),
    ],
)
def test_a_recording_refuses_what_http_cannot_send(fields: dict, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        Recording(**fields)


def test_sse_events_cut_after_each_blank_line_and_join_to_the_body() -> None:
    assert sse_events(SSE) == EVENTS
    assert sse_events(b"data: a\r\rdata: b") == [b"data: a\r\r", b"data: b"]
    assert sse_events(b"") == []
    for body in (SSE, b"data: a\n\n\ndata: b\n", b"x"):
        assert b"".join(sse_events(body)) == body


def test_only_a_json_object_with_stream_true_streams() -> None:
    assert wants_stream(b'{"stream": true}')
    for body in (b'{"stream": "true"}', b'{"stream": 1}', b"[true]", b"stream", b"\xff", b""):
        assert not wants_stream(body)


# Serving


def test_status_reason_and_headers_are_kept_and_framing_ones_replaced(
    make_emulator: MakeEmulator,
) -> None:
    emu = make_emulator(replay=ReplayOptions(nonstream=Recording.parse(CAPTURE)))
    response = post(emu)
    assert (response.status_code, response.reason, response.content) == (
        429,
        "Slow Down",
        b'{"error": "slow"}',
    )
    headers = response.raw.headers
    assert headers.getlist("set-cookie") == ["a=1", "b=2"]
    assert headers.getlist("server") == ["uvicorn"]  # the recorded one, not the emulator's
    assert headers["x-litellm-call-id"] == "ef298b53"
    assert headers.getlist("content-length") == ["17"]  # the emulator's, now
    assert headers["date"] != "Wed, 02 Dec 2026 02:26:19 GMT"
    assert "connection" not in headers and "keep-alive" not in headers
    assert emu.requests[0].tokens_sent == 1


def test_a_json_body_recorded_chunked_goes_whole_with_content_length(
    make_emulator: MakeEmulator,
) -> None:
    capture = b"HTTP/1.1 500 Internal Server Error\r\nconnection: close\r\n" + (
        b"Transfer-Encoding: chunked\r\ncontent-type: text/plain\r\n\r\nInternal Server Error"
    )
    emu = make_emulator(replay=ReplayOptions(nonstream=Recording.parse(capture)))
    for _ in range(2):  # the connection is kept: a recorded "connection: close" is not sent
        response = post(emu)
        headers = response.raw.headers
        assert (response.status_code, response.content) == (500, b"Internal Server Error")
        assert headers["content-length"] == "21" and "transfer-encoding" not in headers
    assert len(emu.requests) == 2


def test_a_recording_without_content_type_is_sent_without_one(
    make_emulator: MakeEmulator,
) -> None:
    emu = make_emulator(replay=ReplayOptions(models=Recording(200, body=b"raw")))
    response = requests.get(emu.url + MODELS, timeout=TIMEOUT)
    assert (response.content, response.headers.get("Content-Type")) == (b"raw", None)
    assert response.headers["Server"] == "g4f-sync-emulator"  # none recorded: the emulator's


@pytest.mark.parametrize("delay", [0.0, 0.001])
def test_an_event_stream_goes_one_event_a_write(make_emulator: MakeEmulator, delay: float) -> None:
    recording = Recording.parse(STREAM_HEAD + SSE)
    emu = make_emulator(replay=ReplayOptions(stream=recording, delay=delay))
    response = post(emu, stream=True)
    assert response.headers["Transfer-Encoding"] == "chunked"
    assert response.headers["x-accel-buffering"] == "no"
    assert list(response.raw.read_chunked(decode_content=False)) == EVENTS
    assert emu.requests[0].finished.wait(TIMEOUT) and emu.requests[0].tokens_sent == 3


def test_an_event_stream_is_not_buffered(make_emulator: MakeEmulator) -> None:
    """The first event arrives while the next one is still a minute away."""
    recording = Recording.parse(STREAM_HEAD + SSE)
    emu = make_emulator(replay=ReplayOptions(stream=recording, delay=60.0))
    response = post(emu, stream=True)
    first = next(response.raw.read_chunked(decode_content=False))
    assert first == EVENTS[0] and emu.requests[0].tokens_sent == 1
    response.close()
    assert emu.requests[0].finished.wait(TIMEOUT)
    assert emu.requests[0].disconnected.is_set() and emu.requests[0].tokens_sent == 1


def test_close_framing_ends_the_stream_with_the_connection(make_emulator: MakeEmulator) -> None:
    recording = Recording.parse(STREAM_HEAD + SSE)
    emu = make_emulator(replay=ReplayOptions(stream=recording, framing="close"))
    response = post(emu, stream=True)
    assert response.headers["Connection"] == "close"
    assert "Transfer-Encoding" not in response.headers
    assert "Content-Length" not in response.headers
    assert response.content == SSE
    assert post(emu, "framing=chunked", stream=True).headers["Transfer-Encoding"] == "chunked"


def test_the_stream_recording_answers_stream_true_and_the_other_the_rest(
    make_emulator: MakeEmulator,
) -> None:
    stream = Recording.parse(STREAM_HEAD + SSE)
    whole = Recording.from_body(b'{"whole": true}', 200)
    emu = make_emulator(replay=ReplayOptions(stream=stream, nonstream=whole))
    assert post(emu, stream=True).content == SSE
    assert post(emu, stream=False).json() == {"whole": True}
    assert post(emu, stream="yes").json() == {"whole": True}
    url = emu.url + CHAT
    assert requests.post(url, data=b"not json", timeout=TIMEOUT).json() == {"whole": True}
    assert [request.json()["stream"] for request in emu.requests[:3]] == [True, False, "yes"]
    assert emu.requests[3].body == b"not json"


@pytest.mark.parametrize(
    ("path", "stream", "name", "requests_named"),
    [
        (CHAT, True, "stream", "streamed chat requests"),
        (CHAT, False, "nonstream", "chat requests that do not stream"),
        (MODELS, None, "models", "GET /models"),
    ],
)
def test_a_missing_recording_is_a_404_naming_the_option(
    emu: Emulator, path: str, stream: Optional[bool], name: str, requests_named: str
) -> None:
    if stream is None:
        response = requests.get(emu.url + path, timeout=TIMEOUT)
    else:
        response = post(emu, stream=stream)
    assert (response.status_code, response.headers["Content-Type"]) == (404, "application/json")
    assert response.json() == {
        "error": f"replay: no recording for {requests_named}: set ReplayOptions.{name}"
        f" (emu.replay.{name} = Recording.load(...), or --replay-{name} FILE)"
    }


def test_a_query_cannot_name_a_file_to_serve(emu: Emulator, tmp_path: Path) -> None:
    secret = write(tmp_path, "secret.http", b"HTTP/1.1 200 OK\r\n\r\nsecret")
    for name in ("stream", "nonstream", "models"):
        response = post(emu, f"{name}={secret}")
        assert response.status_code == 400
        assert response.json() == {
            "error": f"{name}: cannot be set by a query string"
            " (only on the command line or in Python)"
        }
    unknown = post(emu, "tokens=a")
    assert unknown.status_code == 400
    assert unknown.json()["error"] == ("unknown query parameter(s): tokens (known: delay, framing)")
    assert b"secret" not in b"".join(r.body for r in emu.requests)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"tokens": ["a"]}, "tokens: a replay sends its recordings, not tokens"),
        ({"retry_after": "5"}, "retry_after: a replay has no rate_limit fault"),
        ({"fault": "rate_limit"}, "fault: must be one of none known, not 'rate_limit'"),
        ({"stream": "stream.http"}, "stream: must be a Recording or None, not 'stream.http'"),
        ({"models": b"HTTP/1.1 200 OK"}, "models: must be a Recording or None"),
        ({"delay": -1}, "delay: must be a non-negative number"),
    ],
)
def test_bad_options_are_value_errors(fields: dict, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        ReplayOptions(**fields)


def test_bad_live_options_get_a_500(emu: Emulator) -> None:
    emu.replay.nonstream = "capture.http"  # type: ignore[assignment]
    response = post(emu)
    assert response.status_code == 500
    assert response.json() == {
        "error": "emulator misconfigured: nonstream: must be a Recording or None, not"
        " 'capture.http'"
    }


def test_live_options_change_between_requests(emu: Emulator) -> None:
    emu.replay.nonstream = Recording.from_body(b'{"n": 1}', 200)
    assert post(emu).json() == {"n": 1}
    emu.replay = ReplayOptions(nonstream=Recording.from_body(b'{"n": 2}', 201))
    second = post(emu)
    assert (second.status_code, second.json()) == (201, {"n": 2})


# Command line


def test_the_command_line_loads_each_form_of_recording(tmp_path: Path) -> None:
    capture = write(tmp_path, "capture.http", CAPTURE)
    head = write(tmp_path, "stream.headers", STREAM_HEAD)
    body = write(tmp_path, "stream.sse", SSE)
    models = write(tmp_path, "models.json", b'{"data": []}')
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    argv = [
        *("--replay-stream", f"{head}+{body}"),
        *("--replay-nonstream", capture),
        *("--replay-models", f"200:{models}"),
        *("--replay-delay", "0.5", "--replay-framing", "close"),
    ]
    assert emulator_from(parser.parse_args(argv)).replay == ReplayOptions(
        stream=Recording.load(head, body=body),
        nonstream=Recording.load(capture),
        models=Recording.load(models, status=200),
        delay=0.5,
        framing="close",
    )
    assert emulator_from(parser.parse_args([])).replay == ReplayOptions()
    for absent in ("--replay-tokens", "--replay-fault", "--replay-retry-after"):
        with pytest.raises(SystemExit):
            parser.parse_args([absent, "x"])


def test_a_bad_recording_on_the_command_line_stops_before_serving(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(tmp_path, "bad.http", b"data: [DONE]\n\n")
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    with pytest.raises(SystemExit) as info:
        parser.parse_args(["--replay-stream", bad])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --replay-stream: invalid value: {bad!r} ({bad}: no status line:" in err


def test_the_command_line_serves_a_recording_to_the_client(tmp_path: Path) -> None:
    body = b'{"choices": [{"index": 0, "message": {"content": "replayed"}}]}'
    capture = write(tmp_path, "answer.json", body)
    with EmulatorProcess(["--replay-nonstream", f"200:{capture}"]) as process:
        client = Client(base_url=process.url + "/replay/v1", max_retries=0, timeout=TIMEOUT)
        answer = client.chat.completions.create(HI, "m")
        assert answer.choices[0].message.content == "replayed"


def test_a_recorded_request_is_in_the_emulators_record(emu: Emulator) -> None:
    emu.replay.nonstream = Recording.from_body(b"{}", 200)
    post(emu, "delay=0", temperature=0.5)
    request = emu.requests[0]
    assert (request.method, request.path, request.query) == ("POST", CHAT, {"delay": "0"})
    assert json.loads(request.body)["temperature"] == 0.5
    assert request.finished.wait(TIMEOUT) and request.status == 200
