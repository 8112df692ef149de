"""``g4f_sync.Client`` in front of an OpenAI-compatible server (the emulator's OpenAI
service) over real HTTP: construction, streamed and whole answers of every shape the
server sends, every error, models, and the threaded helpers and RetryProvider around it."""

from __future__ import annotations

import functools
import json
import threading
from typing import Any, Dict, List, Optional

import pytest
from support import FAST, HI, HI_THERE, TIMEOUT, MakeEmulator

from g4f_sync import Client, RetryProvider, ThreadedStream, errors, run_batch
from g4f_sync.chat import ChatCompletion, ChatCompletionChunk, build_completion
from g4f_sync.client import ChatCompletionStream
from g4f_sync.emulator import Emulator, OpenAIOptions
from g4f_sync.Provider import ChatGptt, Custom, Koala

KEY = "sk-proj-emulated0123456789WXYZ"
INCLUDE_USAGE = {"stream_options": {"include_usage": True}}
CALLS = 'get_weather:{"city":"Paris"};now:{}'
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
SORRY = "The server had an error while processing your request. Sorry about that!"


def client(emu: Emulator, **query: Any) -> Client:
    """A Client of Custom pointed at ``emu`` with ``query`` as per-request options, no
    retries."""
    return Client(emu.provider(Custom, **query), max_retries=0, timeout=TIMEOUT)


def chat_url(emu: Emulator, query: str = "") -> str:
    return f"{emu.url}/v1/chat/completions" + (f"?{query}" if query else "")


def stream_of(emu: Emulator, messages: Any = HI_THERE, **options: Any) -> List[Any]:
    query = options.pop("query", {})
    stream = client(emu, **query).chat.completions.create(messages, "m", stream=True, **options)
    assert isinstance(stream, ChatCompletionStream)
    with stream:
        return list(stream)


def whole(emu: Emulator, messages: Any = HI_THERE, **options: Any) -> ChatCompletion:
    query = options.pop("query", {})
    answer = client(emu, **query).chat.completions.create(messages, "m", **options)
    assert isinstance(answer, ChatCompletion)
    return answer


def contents(chunks: List[ChatCompletionChunk], index: int = 0) -> List[Optional[str]]:
    return [c.delta.content for chunk in chunks for c in chunk.choices if c.index == index]


# Making a client


def test_a_client_with_base_url_key_and_default_headers(emu: Emulator) -> None:
    emu.openai.api_key = KEY
    made = Client(base_url=emu.url + "/v1", api_key=KEY, default_headers={"X-Title": "tests"})
    answer = made.chat.completions.create(HI_THERE, "emulated-gpt")
    assert answer.choices[0].message.content == "Hi there"
    assert (answer.provider, answer.model) == ("Custom", "emulated-gpt")
    request = emu.requests[0]
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.headers["X-Title"] == "tests"
    assert made.api_key == KEY and made.base_url == emu.url + "/v1"
    assert repr(made) == f"Client(provider=Custom, base_url='{emu.url}/v1')"


def test_a_calls_extra_headers_add_to_the_default_headers(emu: Emulator) -> None:
    made = Client(base_url=emu.url + "/v1", default_headers={"X-Title": "app", "X-Env": "a"})
    made.chat.completions.create(HI, "m", extra_headers={"X-Trace": "t1", "X-Env": "b"})
    made.chat.completions.create(HI, "m")
    first, second = (request.headers for request in emu.requests)
    assert (first["X-Title"], first["X-Trace"], first["X-Env"]) == ("app", "t1", "b")
    assert (second["X-Title"], second["X-Env"], second.get("X-Trace")) == ("app", "a", None)
    with pytest.raises(errors.InvalidRequestError) as info:
        made.chat.completions.create(HI, "m", extra_headers=[("X-Trace", "t1")])
    assert str(info.value) == (
        "Custom: extra_headers must be a mapping of strings to strings, got [('X-Trace', 't1')]"
    )
    assert emu.request_count == 2


def test_a_bare_host_gets_v1_and_a_bad_base_url_is_refused(emu: Emulator) -> None:
    assert Client(base_url=emu.url).chat.completions.create(HI, "m").choices[0].message.content
    assert emu.requests[0].path == "/v1/chat/completions"
    for bad in ("/v1", "", "localhost:8080/v1 ", "http://[::1/v1"):
        with pytest.raises(errors.InvalidRequestError) as info:
            Client(base_url=bad, api_key=KEY)
        assert str(info.value) == f"Custom: base_url {bad!r} must be http(s)://host[:port]/path"
        assert KEY not in str(info.value)
    for bad in ("http://[::1/v1", "http://127.0.0.1:65536", "http://:80"):
        with pytest.raises(errors.InvalidRequestError) as info:
            Client(Koala, base_url=bad)  # a text provider's mirror
        assert str(info.value) == f"base URL {bad!r} must be http(s)://host[:port][/path]"


def test_openai_base_url_and_key_from_the_environment(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", emu.url + "/v1")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    emu.openai.api_key = KEY
    made = Client()
    assert repr(made) == f"Client(provider=Custom, base_url='{emu.url}/v1')"
    assert made.chat.completions.create(HI, "m").choices[0].message.content == "Hi"
    assert emu.requests[0].headers["Authorization"] == f"Bearer {KEY}"
    assert Client(api_key="sk-mine").api_key == "sk-mine"  # a key given wins


def test_the_environment_is_not_read_when_a_provider_or_base_url_is_given(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OPENAI_API_KEY goes to the server OPENAI_BASE_URL names, never to another one."""
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    explicit = Client(base_url=emu.url + "/v1")
    assert explicit.api_key is None
    explicit.chat.completions.create(HI, "m")
    assert "Authorization" not in emu.requests[0].headers
    assert Client(emu.provider(Koala)).base_url is None


def test_with_options_changes_timeout_and_retries(emu: Emulator) -> None:
    emu.openai = OpenAIOptions(fault="server_error")
    retrying = Client(base_url=emu.url + "/v1", api_key=KEY, max_retries=FAST)
    with pytest.raises(errors.InternalServerError) as info:
        retrying.chat.completions.create(HI, "m")
    assert (info.value.attempts, emu.request_count) == (3, 3)
    once = retrying.with_options(max_retries=0)
    assert (once.max_retries, once.api_key, once.base_url) == (0, KEY, emu.url + "/v1")
    with pytest.raises(errors.InternalServerError) as info:
        once.chat.completions.create(HI, "m")
    assert (info.value.attempts, emu.request_count) == (1, 4)
    assert retrying.max_retries == FAST  # the original is unchanged
    emu.openai = OpenAIOptions(fault="silent_head")
    hurried = once.with_options(timeout=(TIMEOUT, 0.2))
    assert hurried.timeout == (TIMEOUT, 0.2)
    with pytest.raises(errors.TimeoutError) as timed_out:
        hurried.chat.completions.create(HI, "m")
    assert (
        str(timed_out.value) == "Custom: the server sent nothing within the read timeout of 0.2 s"
    )
    assert timed_out.value.timeout == 0.2
    with pytest.raises(errors.InvalidRequestError) as info:
        retrying.with_options(max_retry=1)
    assert str(info.value) == (
        "Client.with_options does not take the option 'max_retry'; did you mean 'max_retries'?"
    )


def test_create_takes_messages_and_model_by_position_or_keyword(emu: Emulator) -> None:
    made = client(emu)
    by_position = made.chat.completions.create(HI_THERE, "gpt-x")
    by_keyword = made.chat.completions.create(model="gpt-y", messages=HI_THERE)
    assert [a.choices[0].message.content for a in (by_position, by_keyword)] == ["Hi there"] * 2
    assert [r.json()["model"] for r in emu.requests] == ["gpt-x", "gpt-y"]


def test_every_openai_option_reaches_the_server_through_the_client(emu: Emulator) -> None:
    options: Dict[str, Any] = {
        "temperature": 0.3,
        "top_p": 0.5,
        "seed": 1,
        "stop": ["END"],
        "max_tokens": 10,
        "max_completion_tokens": 11,
        "presence_penalty": 0.1,
        "frequency_penalty": 0.2,
        "logit_bias": {"42": -1},
        "user": "u",
        "tools": TOOLS,
        "tool_choice": "none",
        "parallel_tool_calls": False,
        "response_format": {"type": "json_object"},
        "reasoning_effort": "high",
        "extra_body": {"top_k": 5},
    }
    answer = client(emu).chat.completions.create(HI, "m", stream=True, **options, **INCLUDE_USAGE)
    assert "".join(c.choices[0].delta.content or "" for c in answer if c.choices) == "Hi"
    extra = options.pop("extra_body")
    assert emu.requests[0].json() == {
        "model": "m",
        "messages": HI,
        "stream": True,
        **options,
        **INCLUDE_USAGE,
        **extra,
    }


def test_options_are_checked_before_any_io(emu: Emulator) -> None:
    made = client(emu)
    for options, message in (
        ({"stream_options": {"include_usage": True}}, "Custom: stream_options needs stream=True"),
        ({"temperature": "warm"}, "Custom: temperature must be a number, got 'warm'"),
        ({"n": 0}, "Custom: n must be a positive integer, got 0"),
        (
            {"temprature": 1},
            "Custom does not take the option 'temprature'; did you mean 'temperature'?",
        ),
    ):
        with pytest.raises(errors.InvalidRequestError) as info:
            made.chat.completions.create(HI, "m", **options)
        assert str(info.value) == message
    with pytest.raises(errors.InvalidMessagesError) as bad:
        made.chat.completions.create([{"role": "tool", "content": "x"}], "m")
    assert str(bad.value) == "messages[0]: a tool message needs a 'tool_call_id' string"
    assert emu.requests == []


# Text, streamed and whole


def test_a_streamed_answer_reads_like_openais(emu: Emulator) -> None:
    chunks = stream_of(emu)
    assert contents(chunks) == ["", "Hi ", "there", None]
    assert [c.choices[0].delta.role for c in chunks] == ["assistant", None, None, None]
    assert [c.choices[0].finish_reason for c in chunks] == [None, None, None, "stop"]
    assert len({c.id for c in chunks}) == 1 and len({c.created for c in chunks}) == 1
    assert {(c.model, c.provider, c.system_fingerprint, c.object) for c in chunks} == {
        ("m", "Custom", "fp_emulated", "chat.completion.chunk")
    }
    assert [c.usage for c in chunks] == [None] * 4


def test_a_whole_answer_reads_like_openais(emu: Emulator) -> None:
    answer = whole(emu)
    assert answer.to_dict() == {
        "id": answer.id,
        "choices": [
            {
                "finish_reason": "stop",
                "index": 0,
                "logprobs": None,
                "message": {
                    "content": "Hi there",
                    "refusal": None,
                    "role": "assistant",
                    "tool_calls": None,
                    "reasoning_content": None,
                },
            }
        ],
        "created": answer.created,
        "model": "m",
        "object": "chat.completion",
        "system_fingerprint": "fp_emulated",
        "usage": {
            "completion_tokens": 2,
            "prompt_tokens": 2,
            "total_tokens": 4,
            "completion_tokens_details": None,
            "prompt_tokens_details": None,
        },
        "provider": "Custom",
    }
    assert answer.id.startswith("chatcmpl-") and answer.created > 1_700_000_000


def test_without_a_role_chunk_the_role_rides_on_the_first_delta_only(emu: Emulator) -> None:
    chunks = stream_of(emu, query={"role_chunk": False})
    assert [(c.choices[0].delta.role, c.choices[0].delta.content) for c in chunks] == [
        ("assistant", "Hi "),
        (None, "there"),
        (None, None),
    ]


def test_empty_deltas_and_control_characters_pass_through_unchanged(emu: Emulator) -> None:
    tokens = ["a\x00b", "\x1b[0m", "\r\n", "\u2028\x85", "\t", "é🙂"]
    emu.openai = OpenAIOptions(tokens=tokens, empty_deltas=True)
    chunks = stream_of(emu)
    expected = ["", "a\x00b", "", "\x1b[0m", "", "\r\n", "", "\u2028\x85", "", "\t", "", "é🙂"]
    assert contents(chunks) == [*expected, None]
    assert whole(emu).choices[0].message.content == "".join(tokens)


@pytest.mark.parametrize("reason", ["length", "content_filter"])
@pytest.mark.parametrize("stream", [True, False])
def test_the_finish_reason_is_the_servers(emu: Emulator, reason: str, stream: bool) -> None:
    emu.openai.finish_reason = reason
    if stream:
        assert [c.choices[0].finish_reason for c in stream_of(emu)][-1] == reason
    else:
        assert whole(emu).choices[0].finish_reason == reason


# Tool calls


def test_streamed_tool_calls_are_put_together_by_index(emu: Emulator) -> None:
    chunks = stream_of(emu, query={"tool_calls": CALLS}, tools=TOOLS)
    calls: Dict[int, Dict[str, str]] = {}
    for chunk in chunks:
        for piece in chunk.choices[0].delta.tool_calls or []:
            call = calls.setdefault(piece.index, {"id": "", "name": "", "arguments": ""})
            call["id"] += piece.id or ""
            assert piece.function is not None
            call["name"] += piece.function.name or ""
            call["arguments"] += piece.function.arguments or ""
    assert calls == {
        0: {"id": "call_0_0", "name": "get_weather", "arguments": '{"city":"Paris"}'},
        1: {"id": "call_0_1", "name": "now", "arguments": "{}"},
    }
    assert contents(chunks) == [None] * len(chunks)
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    message = build_completion(chunks).choices[0].message
    assert message.content is None
    assert [(c.id, c.type, c.function.name) for c in message.tool_calls or []] == [
        ("call_0_0", "function", "get_weather"),
        ("call_0_1", "function", "now"),
    ]


def test_whole_tool_calls_are_the_messages_with_no_content(emu: Emulator) -> None:
    answer = whole(emu, query={"tool_calls": CALLS}, tools=TOOLS, tool_choice="required")
    choice = answer.choices[0]
    assert (choice.finish_reason, choice.message.content) == ("tool_calls", None)
    assert [
        (c.id, c.function.name, json.loads(c.function.arguments))
        for c in choice.message.tool_calls or []
    ] == [("call_0_0", "get_weather", {"city": "Paris"}), ("call_0_1", "now", {})]
    assert choice.message.to_dict()["tool_calls"][0] == {
        "id": "call_0_0",
        "function": {"arguments": '{"city":"Paris"}', "name": "get_weather"},
        "type": "function",
    }


# Usage


@pytest.mark.parametrize("shape", ["openai", "litellm", "g4f"])
def test_usage_in_each_shape_is_on_one_chunk(emu: Emulator, shape: str) -> None:
    chunks = stream_of(emu, query={"usage_shape": shape}, **INCLUDE_USAGE)
    with_usage = [number for number, chunk in enumerate(chunks) if chunk.usage is not None]
    assert with_usage == [len(chunks) - 1]  # every chunk has .usage: None but on the last
    usage = chunks[-1].usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (2, 2, 4)
    last = chunks[-1].choices
    if shape == "openai":
        assert last == []
    elif shape == "litellm":
        assert [(c.index, c.delta.content, c.finish_reason) for c in last] == [(0, None, None)]
    else:  # g4f: on the finish chunk
        assert [(c.index, c.finish_reason) for c in last] == [(0, "stop")]
    assert "".join(c or "" for c in contents(chunks)) == "Hi there"
    assert build_completion(chunks).choices[0].finish_reason == "stop"  # not the usage's None


@pytest.mark.parametrize("shape", ["openai", "litellm", "g4f"])
def test_without_include_usage_no_chunk_has_usage(emu: Emulator, shape: str) -> None:
    assert [c.usage for c in stream_of(emu, query={"usage_shape": shape})] == [None] * 4


# Reasoning, n, logprobs


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_reasoning_in_either_field_is_reasoning_content(emu: Emulator, field: str) -> None:
    query = {"reasoning": ["Let ", "me ", "think"], "reasoning_field": field}
    chunks = stream_of(emu, query=query)
    assert [c.choices[0].delta.reasoning_content for c in chunks] == [
        None,
        "Let ",
        "me ",
        "think",
        None,
        None,
        None,
    ]
    assert contents(chunks) == ["", None, None, None, "Hi ", "there", None]
    answer = whole(emu, query=query)
    assert answer.choices[0].message.reasoning_content == "Let me think"
    assert answer.choices[0].message.content == "Hi there"
    assert answer.usage is not None
    assert answer.usage.completion_tokens_details == {"reasoning_tokens": 3}


def test_n_choices_are_told_apart_by_index(emu: Emulator) -> None:
    chunks = stream_of(emu, n=3)
    for index, text in enumerate(["Hi there", "Hi there [1]", "Hi there [2]"]):
        assert "".join(c or "" for c in contents(chunks, index)) == text
        roles = [c.delta.role for chunk in chunks for c in chunk.choices if c.index == index]
        assert roles[0] == "assistant" and set(roles[1:]) == {None}
    assert [c.choices[0].index for c in chunks[:3]] == [0, 1, 2]  # interleaved
    answer = whole(emu, n=3)
    assert [(c.index, c.message.content) for c in answer.choices] == [
        (0, "Hi there"),
        (1, "Hi there [1]"),
        (2, "Hi there [2]"),
    ]
    assert build_completion(chunks).to_dict()["choices"] == answer.to_dict()["choices"]


def test_logprobs_streamed_and_whole(emu: Emulator) -> None:
    chunks = stream_of(emu, logprobs=True, top_logprobs=2)
    entries = [e for c in chunks if c.choices[0].logprobs for e in c.choices[0].logprobs["content"]]
    assert [
        (e["token"], e["logprob"], [t["token"] for t in e["top_logprobs"]]) for e in entries
    ] == [
        ("Hi ", -0.01, ["Hi ", "alt1"]),
        ("there", -0.02, ["there", "alt1"]),
    ]
    logprobs = whole(emu, logprobs=True).choices[0].logprobs
    assert logprobs == {
        "content": [
            {"token": "Hi ", "logprob": -0.01, "bytes": [72, 105, 32], "top_logprobs": []},
            {"token": "there", "logprob": -0.02, "bytes": list(b"there"), "top_logprobs": []},
        ],
        "refusal": None,
    }
    assert build_completion(chunks).choices[0].logprobs == {
        "content": entries,
        "refusal": None,
    }


# Errors


@pytest.mark.parametrize(
    ("fault", "error_class", "said"),
    [
        (
            "context_length",
            errors.ContextLengthExceededError,
            "HTTP 400 Bad Request from POST {url}: This model's maximum context length is"
            " 128000 tokens. However, your messages resulted in 128001 tokens. Please reduce"
            " the length of the messages.",
        ),
        (
            "not_found",
            errors.NotFoundError,
            "HTTP 404 Not Found from POST {url}: The model `m` does not exist or you do not"
            " have access to it.",
        ),
        (
            "unprocessable",
            errors.UnprocessableEntityError,
            'HTTP 422 Unprocessable Entity from POST {url}: {{"detail":[{{"type":"value_error",'
            '"loc":["body"],"msg":"Value error, the emulator\'s unprocessable fault",'
            '"input":null}}]}}',
        ),
        (
            "server_error",
            errors.InternalServerError,
            f"HTTP 500 Internal Server Error from POST {{url}}: {SORRY}",
        ),
        (
            "no_retry",
            errors.InternalServerError,
            f"HTTP 500 Internal Server Error from POST {{url}}: {SORRY}",
        ),
    ],
)
@pytest.mark.parametrize("stream", [True, False])
def test_an_error_status_is_openais_class(
    emu: Emulator, fault: str, error_class: type, said: str, stream: bool
) -> None:
    made = client(emu, fault=fault)
    with pytest.raises(error_class) as info:
        answer = made.chat.completions.create(HI, "m", stream=stream)
        list(answer)  # type: ignore[arg-type]
    url = chat_url(emu, f"fault={fault}")
    assert str(info.value) == "Custom: " + said.format(url=url)
    assert (info.value.partial, info.value.provider, info.value.attempts) == ("", "Custom", 1)


def test_a_bad_request_is_a_bad_request_error_with_the_servers_details(emu: Emulator) -> None:
    with pytest.raises(errors.ContextLengthExceededError) as info:
        whole(emu, query={"fault": "context_length"})
    error = info.value
    assert isinstance(error, errors.BadRequestError)
    assert (error.status_code, error.type, error.code, error.param) == (
        400,
        "invalid_request_error",
        "context_length_exceeded",
        "messages",
    )
    # the emulator's own 400 for a request OpenAI would refuse: a plain BadRequestError
    with pytest.raises(errors.BadRequestError) as bad:
        whole(emu, extra_body={"n": 200})
    assert type(bad.value) is errors.BadRequestError
    assert (bad.value.code, bad.value.param) == ("integer_above_max_value", "n")
    assert str(bad.value) == (
        f"Custom: HTTP 400 Bad Request from POST {chat_url(emu)}: Invalid 'n': integer above"
        " maximum value. Expected a value <= 128, but got 200 instead."
    )


def test_a_wrong_key_and_the_unauthorized_fault_are_authentication_errors(
    emu: Emulator,
) -> None:
    emu.openai.api_key = KEY
    wrong = "sk-proj-wrong0123456789abcd"
    made = Client(base_url=emu.url + "/v1", api_key=wrong, max_retries=0)
    for stream in (True, False):
        with pytest.raises(errors.AuthenticationError) as info:
            list(made.chat.completions.create(HI, "m", stream=stream))  # type: ignore[arg-type]
        assert str(info.value) == (
            f"Custom: HTTP 401 Unauthorized from POST {chat_url(emu)}: Incorrect API key"
            f" provided: sk-{'*' * (len(wrong) - 7)}abcd. You can find your API key at"
            " https://platform.openai.com/account/api-keys."
        )
        assert wrong not in repr(info.value) and wrong not in info.value.body
    right = made.with_options(api_key=KEY)
    with pytest.raises(errors.AuthenticationError) as info:
        right.chat.completions.create(HI, "m", extra_query={"fault": "unauthorized"})
    assert info.value.code == "invalid_api_key"
    assert f"sk-{'*' * (len(KEY) - 7)}WXYZ" in str(info.value) and KEY not in str(info.value)
    assert right.chat.completions.create(HI, "m").choices[0].message.content == "Hi"


def test_a_rate_limit_carries_retry_after_from_retry_after_ms(emu: Emulator) -> None:
    """``retry-after: 2.5`` is no whole number of seconds: only ``retry-after-ms`` says it."""
    with pytest.raises(errors.RateLimitError) as info:
        whole(emu, query={"fault": "rate_limit", "retry_after": "2.5"})
    error = info.value
    assert (error.retry_after, error.status_code, error.code, error.type) == (
        2.5,
        429,
        "rate_limit_exceeded",
        "requests",
    )
    assert str(error) == (
        f"Custom: rate limited (HTTP 429) by POST"
        f" {chat_url(emu, 'fault=rate_limit&retry_after=2.5')}; retry after 2.5 s: Rate limit"
        " reached for m in organization org-emulated on requests per min (RPM): Limit 3,"
        " Used 3, Requested 1. Please try again in 2.5s."
    )
    assert emu.request_count == 1


def test_a_rate_limit_is_retried_after_the_wait_it_asks(emu: Emulator) -> None:
    emu.openai = OpenAIOptions(fault="rate_limit", fault_count=1, retry_after="0.001")
    made = Client(base_url=emu.url + "/v1", max_retries=FAST)
    assert made.chat.completions.create(HI, "m").choices[0].message.content == "Hi"
    assert emu.request_count == 2


def test_a_server_error_is_retried_and_no_retry_is_not(emu: Emulator) -> None:
    emu.openai = OpenAIOptions(fault="server_error", fault_count=2)
    made = Client(base_url=emu.url + "/v1", max_retries=FAST)
    assert made.chat.completions.create(HI, "m").choices[0].message.content == "Hi"
    assert emu.request_count == 3
    emu.openai = OpenAIOptions(fault="server_error")
    with pytest.raises(errors.InternalServerError) as info:
        list(made.chat.completions.create(HI, "m", stream=True))
    assert str(info.value).endswith(f"{SORRY} (after 3 attempts)")
    assert emu.request_count == 6
    emu.openai = OpenAIOptions(fault="no_retry")
    with pytest.raises(errors.InternalServerError) as info:
        made.chat.completions.create(HI, "m")
    assert (info.value.attempts, emu.request_count) == (1, 7)  # x-should-retry: false


def test_an_error_event_in_a_stream_comes_after_the_tokens_before_it(emu: Emulator) -> None:
    stream = client(emu, fault="error_event", drop_after=1).chat.completions.create(
        HI_THERE, "m", stream=True
    )
    received = []
    with pytest.raises(errors.APIError) as info:
        for chunk in stream:
            received.append(chunk.choices[0].delta.content)
    assert received == ["", "Hi "]
    error = info.value
    assert str(error) == f"Custom: the server reported an error: {SORRY}"
    assert (error.partial, error.type, error.code, error.param) == (
        "Hi ",
        "server_error",
        None,
        None,
    )
    with pytest.raises(errors.APIError) as info:
        whole(emu, query={"fault": "error_event"})  # the whole answer is the error object
    assert str(info.value) == f"Custom: the server reported an error: {SORRY}"
    assert info.value.partial == ""


@pytest.mark.parametrize("framing", ["chunked", "close"])
def test_a_dropped_stream_is_interrupted_after_the_tokens_before_it(
    emu: Emulator, framing: str
) -> None:
    emu.openai = OpenAIOptions(fault="drop", drop_after=1, framing=framing)  # type: ignore[arg-type]
    received = []
    with pytest.raises(errors.StreamInterruptedError) as info:
        for chunk in client(emu).chat.completions.create(HI_THERE, "m", stream=True):
            received.append(chunk.choices[0].delta.content)
    assert received == ["", "Hi "]
    assert info.value.partial == "Hi "
    assert str(info.value).startswith("Custom: the connection was lost mid-answer (")
    with pytest.raises(errors.StreamInterruptedError) as whole_info:
        whole(emu)  # half the body, then the drop
    assert whole_info.value.partial == ""


def test_silence_is_a_timeout_within_the_read_timeout(emu: Emulator) -> None:
    hurried = Client(base_url=emu.url + "/v1", timeout=(TIMEOUT, 0.2), max_retries=0)
    with pytest.raises(errors.TimeoutError) as info:
        hurried.chat.completions.create(HI, "m", extra_query={"fault": "silent_head"})
    assert str(info.value) == "Custom: the server sent nothing within the read timeout of 0.2 s"
    stream = hurried.chat.completions.create(
        HI_THERE, "m", stream=True, extra_query={"fault": "silent", "drop_after": "1"}
    )
    with pytest.raises(errors.TimeoutError) as info:
        list(stream)
    assert str(info.value) == (
        "Custom: the server went silent mid-answer for longer than the read timeout of 0.2 s"
    )
    assert info.value.timeout == 0.2
    assert info.value.partial == "Hi "


def test_interrupting_a_client_stream_cancels_it(emu: Emulator) -> None:
    stream = client(emu, fault="silent", drop_after=1).chat.completions.create(
        HI_THERE, "m", stream=True
    )
    first_token = threading.Event()
    outcome: List[BaseException] = []

    def consume() -> None:
        try:
            for chunk in stream:
                if chunk.choices[0].delta.content:
                    first_token.set()
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)

    consumer = threading.Thread(target=consume)
    consumer.start()
    assert first_token.wait(TIMEOUT)
    assert stream.interrupt() is True  # the silent read was reached
    consumer.join(TIMEOUT)
    assert not consumer.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], errors.CancelledError)
    assert str(outcome[0]) == "Custom: interrupted by the caller"
    assert outcome[0].partial == "Hi "
    assert emu.requests[0].disconnected.wait(TIMEOUT)


def test_interrupting_before_the_first_chunk_sends_nothing(emu: Emulator) -> None:
    stream = client(emu).chat.completions.create(HI, "m", stream=True)
    assert stream.interrupt() is False  # no socket yet
    with pytest.raises(errors.CancelledError) as info:
        next(stream)
    assert (str(info.value), info.value.partial) == ("Custom: interrupted by the caller", "")
    assert emu.request_count == 0


def test_leaving_a_stream_early_closes_its_connection(emu: Emulator) -> None:
    made = client(emu, fault="silent", drop_after=1)
    with made.chat.completions.create(HI_THERE, "m", stream=True) as stream:
        assert [next(stream).choices[0].delta.content for _ in range(2)] == ["", "Hi "]
    assert emu.requests[0].disconnected.wait(TIMEOUT)
    assert list(stream) == []


# Models


def test_models_list_is_the_servers(emu: Emulator) -> None:
    emu.openai.models = ["alpha", "beta"]
    models = Client(base_url=emu.url + "/v1").models.list()
    assert [(m.id, m.owned_by) for m in models] == [("alpha", "emulator"), ("beta", "emulator")]
    emu.openai.models = ["gamma"]
    made = Client(base_url=emu.url + "/v1")
    assert [m.id for m in made.models.list()] == ["alpha", "beta"]  # reused
    assert [m.id for m in made.models.list(refresh=True)] == ["gamma"]
    assert [r.path for r in emu.requests] == ["/v1/models", "/v1/models"]


def test_models_list_sends_the_clients_key_and_headers(emu: Emulator) -> None:
    emu.openai.api_key = KEY
    made = Client(base_url=emu.url + "/v1", api_key=KEY, default_headers={"X-Tenant": "t1"})
    assert [m.id for m in made.models.list()] == ["emulated-gpt", "emulated-mini"]
    assert emu.requests[0].headers["Authorization"] == f"Bearer {KEY}"
    assert emu.requests[0].headers["X-Tenant"] == "t1"
    with pytest.raises(errors.AuthenticationError) as info:
        made.with_options(api_key="sk-proj-wrong0123456789abcd").models.list()
    assert str(info.value).startswith(
        f"Custom: HTTP 401 Unauthorized from GET {emu.url}/v1/models: Incorrect API key"
    )


def test_models_list_of_koala_is_its_fixed_names(emu: Emulator) -> None:
    models = Client(emu.provider(Koala)).models.list()
    assert [(m.id, m.owned_by) for m in models] == [(name, "Koala") for name in Koala.get_models()]
    assert emu.requests == []
    with pytest.raises(errors.ProviderNotFoundError) as info:
        Client().models.list()
    assert str(info.value) == (
        "models.list() needs a provider: Client(base_url=...) or Client(provider)"
    )


def test_an_empty_model_is_the_first_the_server_lists(emu: Emulator) -> None:
    emu.openai.models = ["listed-first", "listed-second"]
    answer = Client(base_url=emu.url + "/v1").chat.completions.create(HI, "")
    assert answer.model == "listed-first"
    assert [r.path for r in emu.requests] == ["/v1/models", "/v1/chat/completions"]


# A text provider through the same Client


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (
            {"tools": TOOLS},
            "Koala does not take the option 'tools'; it takes: ignore_working, max_retries,"
            " max_tokens, n, provider, proxy, session, stop, stream, timeout",
        ),
        (
            {"response_format": {"type": "json_object"}},
            "Koala does not take the option 'response_format'; it takes: ignore_working,"
            " max_retries, max_tokens, n, provider, proxy, session, stop, stream, timeout",
        ),
        ({"n": 2}, "Koala answers with one choice: n must be 1, got 2"),
    ],
)
def test_koala_refuses_what_only_an_openai_server_can_do(
    emu: Emulator, option: Dict[str, Any], message: str
) -> None:
    with pytest.raises(errors.InvalidRequestError) as info:
        Client(emu.provider(Koala)).chat.completions.create(HI, "", **option)
    assert str(info.value) == message
    assert emu.requests == []


def test_koala_takes_no_key_or_headers(emu: Emulator) -> None:
    for settings, name in (
        ({"api_key": KEY}, "api_key"),
        ({"default_headers": {"X": "1"}}, "default_headers"),
    ):
        with pytest.raises(errors.InvalidRequestError) as info:
            Client(emu.provider(Koala), **settings)
        assert str(info.value) == (
            f"Koala takes no {name}: it is not an OpenAI-compatible server (give base_url= for one)"
        )


# Threads and fallback


def test_a_threaded_stream_over_a_client_stream(emu: Emulator) -> None:
    made = client(emu)
    with ThreadedStream(lambda: made.chat.completions.create(HI_THERE, "m", stream=True)) as ts:
        assert contents(list(ts)) == ["", "Hi ", "there", None]
    silent = client(emu, fault="silent", drop_after=1)
    stream = ThreadedStream(lambda: silent.chat.completions.create(HI_THERE, "m", stream=True))
    assert next(stream).choices[0].delta.content == ""
    assert next(stream).choices[0].delta.content == "Hi "
    stream.close()  # interrupts the silent read
    assert emu.requests[1].disconnected.wait(TIMEOUT)
    assert list(stream) == []


def test_run_batch_of_sixteen_client_calls(emu: Emulator) -> None:
    made = Client(base_url=emu.url + "/v1", max_retries=0)
    calls = [
        functools.partial(
            made.chat.completions.create, [{"role": "user", "content": f"question {i}"}], "m"
        )
        for i in range(16)
    ]
    results = list(run_batch(calls, max_workers=8, progress=False))
    assert [r.index for r in results] == list(range(16))
    assert [r.result().choices[0].message.content for r in results] == [
        f"question {i}" for i in range(16)
    ]
    assert emu.request_count == 16


def test_retry_provider_falls_over_from_a_failing_server_to_koala(
    make_emulator: MakeEmulator,
) -> None:
    failing, working = make_emulator(), make_emulator()
    failing.openai.fault = "server_error"
    fallback = RetryProvider([failing.provider(Custom), working.provider(Koala)], shuffle=False)
    answer = Client(fallback, max_retries=FAST).chat.completions.create(HI_THERE, "")
    assert (answer.provider, answer.choices[0].message.content) == ("Koala", "Hi there")
    assert [r.path for r in failing.requests] == ["/v1/models"] + ["/v1/chat/completions"] * 3
    stream = Client(fallback, max_retries=0).chat.completions.create(HI_THERE, "", stream=True)
    chunks = list(stream)
    assert {c.provider for c in chunks} == {"Koala"}
    assert "".join(c or "" for c in contents(chunks)) == "Hi there"


def test_retry_provider_falls_over_from_koala_to_a_server(make_emulator: MakeEmulator) -> None:
    failing, working = make_emulator(), make_emulator()
    fallback = RetryProvider(
        [failing.provider(Koala, fault="server_error"), working.provider(Custom)], shuffle=False
    )
    answer = Client(fallback, max_retries=0).chat.completions.create(HI_THERE, "")
    assert (answer.provider, answer.choices[0].message.content) == ("Custom", "Hi there")
    assert [r.path for r in working.requests] == ["/v1/models", "/v1/chat/completions"]
    assert working.requests[-1].json()["model"] == "emulated-gpt"  # the first one listed
    everything_fails = RetryProvider(
        [failing.provider(Koala, fault="server_error"), failing.provider(Custom, fault="no_retry")],
        shuffle=False,
    )
    with pytest.raises(errors.RetryProviderError) as info:
        Client(everything_fails, max_retries=0).chat.completions.create(HI_THERE, "")
    assert [(name, type(error).__name__) for name, error in info.value.errors] == [
        ("Koala", "InternalServerError"),
        ("Custom", "InternalServerError"),
    ]


def test_a_retry_provider_has_no_model_list_of_its_own() -> None:
    client = Client(RetryProvider([Koala, ChatGptt]))
    with pytest.raises(errors.InvalidRequestError) as info:
        client.models.list()
    assert str(info.value) == (
        "RetryProvider has no model list of its own: list the models of each of its"
        " providers, e.g. Client(provider).models.list()"
    )
