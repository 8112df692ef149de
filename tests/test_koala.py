"""Koala's request shape and answer parsing, with the HTTP layer mocked by responses."""

from __future__ import annotations

import json
from typing import List

import pytest
import responses
from support import CONVERSATION

from g4f_sync import errors
from g4f_sync import sse as sse_module
from g4f_sync.Provider import Koala

REFERENCE_BODY = (
    '{"input": "Say hello world You are terse.", "inputHistory": ["Hi"], '
    '"outputHistory": ["Hello!"], "model": "gpt-4o-mini"}'
)


def sse(*tokens: str, done: bool = False) -> str:
    lines = [f"data: {json.dumps(token)}\n\n" for token in tokens]
    if done:
        lines.append("data: [DONE]\n\n")
    return "".join(lines)


def mock_answer(body: str, status: int = 200) -> None:
    responses.post(Koala.api_endpoint, body=body, status=status, content_type="text/event-stream")


@responses.activate
def test_body_for_the_example_conversation_equals_the_reference() -> None:
    mock_answer(sse("Hello", " world"))
    assert "".join(Koala.create_completion("", CONVERSATION)) == "Hello world"
    request = responses.calls[0].request
    assert request.body.decode() == REFERENCE_BODY  # same keys, same order, same values
    assert request.headers["Content-Type"] == "application/json"


@responses.activate
def test_headers_follow_the_reference_with_origin_derived_from_url() -> None:
    mock_answer(sse("x"))
    list(Koala.create_completion("gpt-4o-mini", [{"role": "user", "content": "Hi"}]))
    headers = responses.calls[0].request.headers
    assert headers["User-Agent"].endswith("Firefox/122.0")
    assert headers["Accept"] == "text/event-stream"
    assert headers["Accept-Language"] == "de,en-US;q=0.7,en;q=0.3"
    assert headers["Referer"] == "https://koala.sh/chat"
    assert headers["Origin"] == "https://koala.sh"
    assert headers["Alt-Used"] == "koala.sh"
    assert headers["Flag-Real-Time-Data"] == "false"
    assert len(headers["Visitor-ID"]) == 20
    assert (headers["Sec-Fetch-Dest"], headers["Sec-Fetch-Mode"], headers["Sec-Fetch-Site"]) == (
        "empty",
        "cors",
        "same-origin",
    )
    assert headers["TE"] == "trailers"
    assert "br" not in headers["Accept-Encoding"] or _has_brotli()


def _has_brotli() -> bool:
    try:
        import brotli  # noqa: F401
    except ImportError:
        return False
    return True


class Mirror(Koala):
    url = "http://mirror.test:8080/chat"
    api_endpoint = "http://mirror.test:8080/api/gpt/"


@responses.activate
def test_a_subclass_talks_to_another_host() -> None:
    responses.post(Mirror.api_endpoint, body=sse("ok"), content_type="text/event-stream")
    assert list(Mirror.create_completion("", [{"role": "user", "content": "Hi"}])) == ["ok"]
    headers = responses.calls[0].request.headers
    assert headers["Origin"] == "http://mirror.test:8080"
    assert headers["Alt-Used"] == "mirror.test:8080"
    assert headers["Referer"] == "http://mirror.test:8080/chat"


@responses.activate
def test_done_ends_the_stream() -> None:
    mock_answer(sse("a", "b", done=True) + sse("never"))
    assert list(Koala.create_completion("", CONVERSATION)) == ["a", "b"]


@responses.activate
def test_malformed_line_raises_after_earlier_tokens() -> None:
    mock_answer(sse("a", "b") + "data: {not json\n\n" + sse("c"))
    received: List[str] = []
    with pytest.raises(
        errors.ResponseError,
        match=r"Koala: cannot read the event line 'data: \{not json': it is not JSON",
    ) as info:
        for token in Koala.create_completion("", CONVERSATION):
            received.append(token)
    assert received == ["a", "b"]
    assert info.value.partial == "ab"


@responses.activate
def test_non_string_json_is_rejected() -> None:
    mock_answer(sse("a") + 'data: {"x": 1}\n\n')
    with pytest.raises(
        errors.ResponseError, match=r"expected a JSON string token, got 'data: \{\"x\": 1\}'"
    ):
        list(Koala.create_completion("", CONVERSATION))


@responses.activate
def test_empty_event_stream_yields_nothing() -> None:
    mock_answer("")
    assert list(Koala.create_completion("", CONVERSATION)) == []


@responses.activate
def test_other_event_types_and_comments_are_ignored() -> None:
    mock_answer(": keep-alive\n\nevent: ping\ndata: {}\n\n" + sse("a"))
    assert list(Koala.create_completion("", CONVERSATION)) == ["a"]


@responses.activate
def test_non_streaming_yields_one_string() -> None:
    mock_answer(sse("Hello", ", ", "world"))
    assert list(Koala.create_completion("", CONVERSATION, stream=False)) == ["Hello, world"]


@responses.activate
def test_status_errors_are_mapped() -> None:
    mock_answer("nope", status=404)
    with pytest.raises(errors.ResponseStatusError, match=r"^Koala: HTTP 404 Not Found") as info:
        list(Koala.create_completion("", CONVERSATION))
    error = info.value
    assert (error.status_code, error.body, error.provider) == (404, "nope", "Koala")
    assert (error.method, error.url) == ("POST", Koala.api_endpoint)


@responses.activate
@pytest.mark.parametrize("stream", [True, False])
def test_json_nested_too_deeply_is_a_response_error_after_earlier_tokens(stream: bool) -> None:
    mock_answer(sse("a", "b") + "data: " + "[" * 100_000 + "]" * 100_000 + "\n\n")
    received: List[str] = []
    with pytest.raises(errors.ResponseError) as info:
        for token in Koala.create_completion("", CONVERSATION, stream=stream):
            received.append(token)
    assert str(info.value).startswith("Koala: cannot read the event line 'data: [[[")
    assert str(info.value).endswith("': its JSON is nested too deeply to read")
    assert received == (["a", "b"] if stream else [])
    assert info.value.partial == "ab"


@responses.activate
def test_a_line_past_the_limit_is_a_response_error_after_earlier_tokens() -> None:
    endless = "data: " + "x" * (sse_module.LINE_LIMIT + 1)  # no line end
    mock_answer(sse("a", "b") + endless)
    received: List[str] = []
    with pytest.raises(errors.ResponseError) as info:
        for token in Koala.create_completion("", CONVERSATION):
            received.append(token)
    assert f"exceeds {sse_module.LINE_LIMIT:,} bytes" in str(info.value)
    assert received == ["a", "b"] and info.value.partial == "ab"
