"""openai-python and g4f_sync's Client on the same requests to the emulator: for every
shape the OpenAI service sends, both must read the same text, tool calls, reasoning,
finish reasons, logprobs and usage, send the same body, and fail with errors of the same
name. openai-python is a test-only tool; the package never imports it.

Where they differ on purpose, the test says so: a 200 answer that is an error object is
an ``APIError`` here, while openai-python returns a ``ChatCompletion`` without choices.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import openai
import pytest
from support import TIMEOUT

from g4f_sync import Client, errors
from g4f_sync.chat import build_completion
from g4f_sync.emulator import Emulator

HI = [{"role": "user", "content": "one two three"}]
KEY = "sk-proj-emulated0123456789WXYZ"
INCLUDE_USAGE = {"stream_options": {"include_usage": True}}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
CALLS = 'get_weather:{"city":"Paris"};now:{}'

SHAPES = [
    pytest.param({}, {}, id="text"),
    pytest.param({"tokens": "Hé,llo ,wörld 🙂"}, {}, id="non-ascii"),
    pytest.param({"tokens": "a\x00b,\x1b[0m,\r\n", "empty_deltas": "true"}, {}, id="control"),
    pytest.param({"role_chunk": "false"}, {}, id="no-role-chunk"),
    pytest.param({"tool_calls": CALLS}, {"tools": TOOLS}, id="tool-calls"),
    pytest.param({"tool_calls": CALLS, "reasoning": "a,b"}, {"n": 2}, id="tool-calls-n"),
    pytest.param({"usage_shape": "openai"}, INCLUDE_USAGE, id="usage-openai"),
    pytest.param({"usage_shape": "litellm"}, INCLUDE_USAGE, id="usage-litellm"),
    pytest.param({"usage_shape": "g4f"}, {**INCLUDE_USAGE, "n": 2}, id="usage-g4f"),
    pytest.param({"reasoning": "Let ,me ,think"}, {}, id="reasoning_content"),
    pytest.param(
        {"reasoning": "Let ,me ,think", "reasoning_field": "reasoning"}, {}, id="reasoning"
    ),
    pytest.param({}, {"n": 3}, id="n"),
    pytest.param({}, {"logprobs": True, "top_logprobs": 2}, id="logprobs"),
    pytest.param({"finish_reason": "length"}, {"max_tokens": 3}, id="length"),
    pytest.param({"finish_reason": "content_filter"}, {}, id="content_filter"),
]


def clients(emu: Emulator) -> Tuple[openai.OpenAI, Client]:
    base_url = emu.url + "/v1"
    return (
        openai.OpenAI(base_url=base_url, api_key=KEY, max_retries=0, timeout=TIMEOUT),
        Client(base_url=base_url, api_key=KEY, max_retries=0, timeout=TIMEOUT),
    )


# Views of either side's objects, made of plain values


def reasoning_of(part: Any, field: str) -> Optional[str]:
    """The reasoning text: openai-python keeps the server's field as it is named."""
    if isinstance(part, openai.BaseModel):
        return getattr(part, field, None)  # type: ignore[no-any-return]
    return part.reasoning_content  # type: ignore[no-any-return]


def logprobs_of(choice: Any) -> Any:
    logprobs = choice.logprobs
    return logprobs.model_dump() if isinstance(logprobs, openai.BaseModel) else logprobs


def usage_of(usage: Any) -> Optional[Tuple[int, int, int, Optional[int]]]:
    if usage is None:
        return None
    details = usage.completion_tokens_details
    if isinstance(details, dict):
        reasoning = details.get("reasoning_tokens")
    else:
        reasoning = getattr(details, "reasoning_tokens", None)
    return (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens, reasoning)


def chunk_view(chunk: Any, field: str) -> Dict[str, Any]:
    choices = []
    for choice in chunk.choices:
        delta = choice.delta
        calls = [
            (
                call.index,
                call.id,
                call.type,
                call.function.name if call.function else None,
                call.function.arguments if call.function else None,
            )
            for call in delta.tool_calls or []
        ]
        choices.append(
            (
                choice.index,
                delta.role,
                delta.content,
                reasoning_of(delta, field),
                calls,
                choice.finish_reason,
                logprobs_of(choice),
            )
        )
    return {
        "choices": choices,
        "usage": usage_of(chunk.usage),
        "model": chunk.model,
        "system_fingerprint": chunk.system_fingerprint,
        "object": chunk.object,
    }


def completion_view(completion: Any, field: str) -> Dict[str, Any]:
    choices = []
    for choice in completion.choices:
        message = choice.message
        calls = [
            (call.id, call.type, call.function.name, call.function.arguments)
            for call in message.tool_calls or []
        ]
        choices.append(
            (
                choice.index,
                message.role,
                message.content,
                reasoning_of(message, field),
                calls,
                choice.finish_reason,
                logprobs_of(choice),
            )
        )
    return {
        "choices": choices,
        "usage": usage_of(completion.usage),
        "model": completion.model,
        "system_fingerprint": completion.system_fingerprint,
        "object": completion.object,
    }


# Answers


@pytest.mark.parametrize(("query", "options"), SHAPES)
def test_both_read_a_stream_chunk_by_chunk_alike(
    emu: Emulator, query: Dict[str, str], options: Dict[str, Any]
) -> None:
    theirs, ours = clients(emu)
    field = query.get("reasoning_field", "reasoning_content")
    expected = [
        chunk_view(chunk, field)
        for chunk in theirs.chat.completions.create(
            model="m", messages=HI, stream=True, extra_query=query, **options
        )
    ]
    received = ours.chat.completions.create(HI, "m", stream=True, extra_query=query, **options)
    chunks = list(received)
    assert [chunk_view(chunk, field) for chunk in chunks] == expected
    assert emu.requests[0].json() == emu.requests[1].json()  # the same body sent
    assert len(expected) > 2


@pytest.mark.parametrize(("query", "options"), SHAPES)
def test_both_read_a_whole_answer_alike(
    emu: Emulator, query: Dict[str, str], options: Dict[str, Any]
) -> None:
    theirs, ours = clients(emu)
    field = query.get("reasoning_field", "reasoning_content")
    options = {k: v for k, v in options.items() if k != "stream_options"}
    expected = theirs.chat.completions.create(
        model="m", messages=HI, stream=False, extra_query=query, **options
    )
    answer = ours.chat.completions.create(HI, "m", stream=False, extra_query=query, **options)
    assert completion_view(answer, field) == completion_view(expected, field)
    assert emu.requests[0].json() == emu.requests[1].json()


@pytest.mark.parametrize(("query", "options"), SHAPES)
def test_a_stream_joined_is_openais_whole_answer(
    emu: Emulator, query: Dict[str, str], options: Dict[str, Any]
) -> None:
    """build_completion over our chunks gives what openai-python reads from the whole
    answer (the usage aside when the stream carries none)."""
    theirs, ours = clients(emu)
    field = query.get("reasoning_field", "reasoning_content")
    whole_options = {k: v for k, v in options.items() if k != "stream_options"}
    expected = completion_view(
        theirs.chat.completions.create(model="m", messages=HI, extra_query=query, **whole_options),
        field,
    )
    stream = ours.chat.completions.create(HI, "m", stream=True, extra_query=query, **options)
    joined = completion_view(build_completion(stream), field)
    if "stream_options" not in options:
        assert joined.pop("usage") is None
        expected.pop("usage")
    joined["object"] = expected["object"]
    # ``reasoning_content`` is ours for any field; openai-python's for its own only
    if field != "reasoning_content":
        joined["choices"] = [(*c[:3], expected["choices"][0][3], *c[4:]) for c in joined["choices"]]
    assert joined == expected


# Errors


STATUS_FAULTS = [
    ("unauthorized", 401),
    ("rate_limit", 429),
    ("context_length", 400),
    ("not_found", 404),
    ("unprocessable", 422),
    ("server_error", 500),
    ("no_retry", 500),
]


def raised(call: Any, stream: bool = False) -> BaseException:
    """What ``call()`` raised (iterating its result, a stream, with ``stream``)."""
    try:
        result = call()
        if stream:
            list(result)
    except Exception as exc:
        return exc
    raise AssertionError("nothing was raised")


@pytest.mark.parametrize(("fault", "status"), STATUS_FAULTS)
@pytest.mark.parametrize("stream", [True, False])
def test_an_error_status_raises_errors_of_the_same_name(
    emu: Emulator, fault: str, status: int, stream: bool
) -> None:
    theirs, ours = clients(emu)
    query = {"fault": fault}
    expected = raised(
        lambda: theirs.chat.completions.create(
            model="m", messages=HI, stream=stream, extra_query=query
        ),
        stream,
    )
    error = raised(
        lambda: ours.chat.completions.create(HI, "m", stream=stream, extra_query=query), stream
    )
    assert isinstance(expected, openai.APIStatusError) and isinstance(error, errors.G4FError)
    assert type(expected).__name__ in [cls.__name__ for cls in type(error).__mro__]
    assert isinstance(error, errors.ResponseStatusError)
    assert (error.status_code, error.code, error.param) == (
        expected.status_code,
        expected.code,
        expected.param,
    )
    body = expected.body if isinstance(expected.body, dict) else {}
    assert error.server_message == body.get("message", "")
    assert error.type == body.get("type")


def test_context_length_is_a_bad_request_to_both(emu: Emulator) -> None:
    theirs, ours = clients(emu)
    query = {"fault": "context_length"}
    expected = raised(
        lambda: theirs.chat.completions.create(model="m", messages=HI, extra_query=query)
    )
    error = raised(lambda: ours.chat.completions.create(HI, "m", extra_query=query))
    assert type(expected) is openai.BadRequestError
    assert type(error) is errors.ContextLengthExceededError  # a BadRequestError, named more
    assert isinstance(error, errors.BadRequestError)


@pytest.mark.parametrize(
    ("fault", "theirs_class", "ours_class"),
    [
        ("error_event", openai.APIError, errors.APIError),
        ("drop", openai.APIConnectionError, errors.StreamInterruptedError),
        ("silent", openai.APITimeoutError, errors.TimeoutError),
    ],
)
def test_an_error_inside_a_stream_comes_after_the_same_chunks(
    emu: Emulator, fault: str, theirs_class: type, ours_class: type
) -> None:
    """Both yield the chunks sent before the fault, then raise. A lost connection and a
    silence are openai-python's APIConnectionError and APITimeoutError, ours
    StreamInterruptedError (a ConnectionError) and TimeoutError."""
    base_url = emu.url + "/v1"
    theirs = openai.OpenAI(base_url=base_url, api_key=KEY, max_retries=0, timeout=0.5)
    ours = Client(base_url=base_url, api_key=KEY, max_retries=0, timeout=(TIMEOUT, 0.5))
    query = {"fault": fault, "drop_after": "2"}

    def read(stream: Any) -> Tuple[List[Optional[str]], BaseException]:
        contents: List[Optional[str]] = []
        try:
            for chunk in stream:
                contents.append(chunk.choices[0].delta.content)
        except Exception as exc:
            return contents, exc
        raise AssertionError("the stream ended without an error")

    expected, their_error = read(
        theirs.chat.completions.create(model="m", messages=HI, stream=True, extra_query=query)
    )
    received, error = read(ours.chat.completions.create(HI, "m", stream=True, extra_query=query))
    assert received == expected == ["", "one ", "two "]
    assert type(their_error) is theirs_class and type(error) is ours_class
    assert error.partial == "one two "  # type: ignore[attr-defined]
    if fault == "error_event":
        assert str(error) == f"Custom: the server reported an error: {their_error}"
        assert isinstance(their_error, openai.APIError) and isinstance(their_error.body, dict)
        assert (error.type, error.code) == (their_error.body["type"], their_error.code)  # type: ignore[attr-defined]


def test_a_whole_answer_that_is_an_error_object_is_an_error_here_only(emu: Emulator) -> None:
    """openai-python builds a ChatCompletion with no choices from ``{"error": ...}``
    sent with 200; g4f_sync raises APIError: nothing is dropped silently."""
    theirs, ours = clients(emu)
    query = {"fault": "error_event"}
    silent = theirs.chat.completions.create(model="m", messages=HI, extra_query=query)
    assert silent.choices is None  # type: ignore[comparison-overlap]
    error = raised(lambda: ours.chat.completions.create(HI, "m", extra_query=query))
    assert type(error) is errors.APIError
    assert str(error) == (
        "Custom: the server reported an error: The server had an error while processing your"
        " request. Sorry about that!"
    )


def test_the_models_are_the_same_list(emu: Emulator) -> None:
    emu.openai.models = ["alpha", "beta", "gamma"]
    theirs, ours = clients(emu)
    assert [m.model_dump(exclude_unset=True) for m in theirs.models.list()] == [
        m.to_dict() for m in ours.models.list()
    ]


def test_default_and_extra_headers_are_merged_alike(emu: Emulator) -> None:
    defaults = {"X-Title": "app", "X-Env": "a"}
    base_url = emu.url + "/v1"
    theirs = openai.OpenAI(base_url=base_url, api_key=KEY, default_headers=defaults)
    ours = Client(base_url=base_url, api_key=KEY, default_headers=defaults)
    extra = {"X-Trace": "t1", "X-Env": "b"}
    theirs.chat.completions.create(model="m", messages=HI, extra_headers=extra)
    ours.chat.completions.create(HI, "m", extra_headers=extra)
    sent = [
        {name: request.headers[name] for name in ("X-Title", "X-Env", "X-Trace", "Authorization")}
        for request in emu.requests
    ]
    assert (
        sent[0]
        == sent[1]
        == {
            "X-Title": "app",
            "X-Env": "b",
            "X-Trace": "t1",
            "Authorization": f"Bearer {KEY}",
        }
    )
