"""The emulator's OpenAI service over real HTTP: the wire format read by ``requests`` and by
openai-python itself (a test-only tool), every option and every fault."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator
from typing import Any, Optional

import openai
import pytest
import requests

from g4f_sync.emulator import Emulator, EmulatorProcess, OpenAIOptions
from g4f_sync.emulator.cli import add_arguments, emulator_from
from g4f_sync.emulator.openai import ToolCall, parse_tool_calls

TIMEOUT = 5.0
HI = [{"role": "user", "content": "one two three"}]
FRAMINGS = ["chunked", "close"]
INCLUDE_USAGE = {"stream_options": {"include_usage": True}}


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator() as running:
        yield running


def client(emu: Emulator, **kwargs: Any) -> openai.OpenAI:
    options = {"api_key": "sk-test", "max_retries": 0, "timeout": TIMEOUT, **kwargs}
    return openai.OpenAI(base_url=emu.url + "/v1", **options)


def post(
    emu: Emulator,
    query: str = "",
    headers: Optional[dict[str, str]] = None,
    lazy: bool = False,
    **body: Any,
) -> requests.Response:
    """``POST /v1/chat/completions`` with ``body`` (model and messages by default); ``lazy``
    returns once the head is in."""
    payload = {"model": "emulated-gpt", "messages": HI, **body}
    url = emu.url + "/v1/chat/completions" + (f"?{query}" if query else "")
    return requests.post(url, json=payload, headers=headers, stream=lazy, timeout=TIMEOUT)


def events(response: requests.Response) -> list[Any]:
    """The ``data:`` of each event: JSON decoded, ``[DONE]`` as is."""
    assert response.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    blocks = response.content.decode().split("\n\n")
    assert blocks[-1] == ""
    data = []
    for block in blocks[:-1]:
        assert block.startswith("data: ") and "\n" not in block
        raw = block[len("data: ") :]
        data.append(raw if raw == "[DONE]" else json.loads(raw))
    return data


def deltas(chunks: list[Any], index: int = 0) -> list[dict[str, Any]]:
    return [c["choices"][0]["delta"] for c in chunks[:-1] if c["choices"][0]["index"] == index]


def text_of(chunks: list[Any], index: int = 0) -> str:
    return "".join(d.get("content") or "" for d in deltas(chunks, index))


# Whole answers


def test_a_whole_answer_echoes_the_last_user_message(emu: Emulator) -> None:
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "an answer"},
        {"role": "user", "content": [{"type": "text", "text": "one two"}, {"type": "image_url"}]},
    ]
    response = post(emu, messages=messages, temperature=0.2, max_tokens=5, seed=1)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["x-request-id"].startswith("req_")
    body = response.json()
    assert body["id"].startswith("chatcmpl-") and isinstance(body["created"], int)
    assert body == {
        "id": body["id"],
        "object": "chat.completion",
        "created": body["created"],
        "model": "emulated-gpt",
        "system_fingerprint": "fp_emulated",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "one two"},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 8, "completion_tokens": 2, "total_tokens": 10},
    }
    assert emu.requests[0].json()["seed"] == 1  # every field accepted and recorded
    assert emu.requests[0].tokens_sent == 2


def test_openai_python_reads_a_whole_answer(emu: Emulator) -> None:
    emu.openai.tokens = ["Hé", "llo ", "wörld 🙂"]
    completion = client(emu).chat.completions.create(model="any-model", messages=HI)
    assert completion.model == "any-model"
    assert completion.choices[0].message.content == "Héllo wörld 🙂"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.completion_tokens == 3
    assert completion.system_fingerprint == "fp_emulated"


def test_a_message_content_may_be_parts_joined_by_a_space(emu: Emulator) -> None:
    parts = [{"type": "text", "text": "a b"}, {"type": "text", "text": "c"}]
    body = post(emu, messages=[{"role": "user", "content": parts}]).json()
    assert body["choices"][0]["message"]["content"] == "a b c"


def test_without_a_user_message_the_answer_is_empty(emu: Emulator) -> None:
    body = post(emu, messages=[{"role": "system", "content": "x"}]).json()
    assert body["choices"][0]["message"]["content"] == ""
    assert body["usage"]["completion_tokens"] == 0


# Streamed answers


@pytest.mark.parametrize("framing", FRAMINGS)
def test_a_stream_sends_a_role_chunk_a_chunk_per_token_a_finish_chunk_and_done(
    emu: Emulator, framing: str
) -> None:
    emu.openai.framing = framing  # type: ignore[assignment]
    response = post(emu, stream=True)
    assert response.headers["Cache-Control"] == "no-cache"
    chunks = events(response)
    assert chunks[-1] == "[DONE]"
    assert [c["choices"][0]["delta"] for c in chunks[:-1]] == [
        {"role": "assistant", "content": ""},
        {"content": "one "},
        {"content": "two "},
        {"content": "three"},
        {},
    ]
    assert [c["choices"][0]["finish_reason"] for c in chunks[:-1]] == [None] * 4 + ["stop"]
    first = chunks[0]
    for chunk in chunks[:-1]:
        assert chunk["id"] == first["id"] and chunk["created"] == first["created"]
        assert chunk["object"] == "chat.completion.chunk"
        assert chunk["model"] == "emulated-gpt"
        assert chunk["system_fingerprint"] == "fp_emulated"
        assert chunk["choices"][0]["index"] == 0 and chunk["choices"][0]["logprobs"] is None
        assert "usage" not in chunk
    assert emu.requests[0].tokens_sent == 3


def test_each_token_is_its_own_write_and_the_others_ride_along(emu: Emulator) -> None:
    emu.openai.tokens = ["a", "b"]
    response = post(emu, lazy=True, stream=True, **INCLUDE_USAGE)
    pieces = [piece for piece in response.raw.read_chunked(decode_content=False)]
    assert [piece.count(b"data: ") for piece in pieces] == [
        2,
        4,
    ]  # role + a; b + finish, usage, [DONE]


def test_openai_python_reads_a_stream(emu: Emulator) -> None:
    stream = client(emu).chat.completions.create(model="m", messages=HI, stream=True)
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "one two three"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].delta.role for c in chunks[1:]] == [None] * 4
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_without_the_role_chunk_the_role_rides_on_the_first_delta(emu: Emulator) -> None:
    chunks = events(post(emu, "role_chunk=false", stream=True))
    assert deltas(chunks) == [
        {"role": "assistant", "content": "one "},
        {"content": "two "},
        {"content": "three"},
        {},
    ]
    emu.openai.tokens = []
    chunks = events(post(emu, "role_chunk=false", stream=True))
    assert deltas(chunks) == [{"role": "assistant"}]  # the finish chunk, the only one


def test_empty_deltas_and_control_characters_reach_the_client(emu: Emulator) -> None:
    tokens = ["a\x00b", "\x1b[0m", "\r\n", "\u2028\x85", "\t"]
    emu.openai = OpenAIOptions(tokens=tokens, empty_deltas=True)
    chunks = events(post(emu, stream=True))
    contents = [d.get("content") for d in deltas(chunks)][1:-1]
    assert contents == ["a\x00b", "", "\x1b[0m", "", "\r\n", "", "\u2028\x85", "", "\t"]
    stream = client(emu).chat.completions.create(model="m", messages=HI, stream=True)
    pieces = [c.choices[0].delta.content for c in stream if c.choices[0].delta.content is not None]
    assert pieces == ["", *contents]  # the role chunk's "" first
    whole = client(emu).chat.completions.create(model="m", messages=HI)
    assert whole.choices[0].message.content == "".join(tokens)


@pytest.mark.parametrize("framing", FRAMINGS)
def test_a_delay_paces_the_tokens_through_the_pacer(emu: Emulator, framing: str) -> None:
    emu.openai = OpenAIOptions(tokens=["x"] * 5, delay=0.001, framing=framing)  # type: ignore[arg-type]
    assert text_of(events(post(emu, stream=True))) == "xxxxx"


def test_count_sends_numbered_tokens_as_koala_does(emu: Emulator) -> None:
    chunks = events(post(emu, "count=3", stream=True))
    assert [d.get("content") for d in deltas(chunks)] == ["", "tok0 ", "tok1 ", "tok2 ", None]
    assert post(emu, "count=2&tokens=a").json()["choices"][0]["message"]["content"] == "tok0 tok1 "
    assert text_of(events(post(emu, "count=0", stream=True))) == ""
    assert emu.requests[-1].tokens_sent == 0


@pytest.mark.parametrize("framing", FRAMINGS)
def test_timestamps_are_monotonic_send_times(emu: Emulator, framing: str) -> None:
    before = time.monotonic()
    query = f"count=3&timestamps=1&delay=0.02&framing={framing}"
    chunks = events(post(emu, query, stream=True))
    stamps = [float(d["content"]) for d in deltas(chunks)[1:-1]]
    assert len(stamps) == 3
    assert before <= stamps[0] <= stamps[1] <= stamps[2] <= time.monotonic()
    assert stamps[2] - stamps[0] >= 0.04  # due 0.02 s apart: a late one does not delay the next
    whole = post(emu, "tokens=a,b&timestamps=true").json()["choices"][0]["message"]["content"]
    stamp = whole[: len(whole) // 2]
    assert whole == stamp * 2  # one time for every token of a whole answer
    assert before <= float(stamp) <= time.monotonic()


# n choices


def test_n_choices_whole_each_after_the_first_suffixed_by_its_index(emu: Emulator) -> None:
    body = post(emu, n=3).json()
    contents = [c["message"]["content"] for c in body["choices"]]
    assert contents == ["one two three", "one two three [1]", "one two three [2]"]
    assert [c["index"] for c in body["choices"]] == [0, 1, 2]
    assert body["usage"]["completion_tokens"] == 3 + 4 + 4
    completion = client(emu).chat.completions.create(model="m", messages=HI, n=2)
    assert [c.message.content for c in completion.choices] == contents[:2]


def test_n_choices_streamed_are_interleaved_chunk_by_chunk(emu: Emulator) -> None:
    emu.openai.tokens = ["a"]
    chunks = events(post(emu, stream=True, n=2))
    assert [(c["choices"][0]["index"], c["choices"][0]["delta"]) for c in chunks[:-1]] == [
        (0, {"role": "assistant", "content": ""}),
        (1, {"role": "assistant", "content": ""}),
        (0, {"content": "a"}),
        (1, {"content": "a"}),
        (0, {}),
        (1, {"content": " [1]"}),
        (1, {}),
    ]
    stream = client(emu).chat.completions.create(model="m", messages=HI, stream=True, n=2)
    texts = ["", ""]
    for chunk in stream:
        choice = chunk.choices[0]
        texts[choice.index] += choice.delta.content or ""
    assert texts == ["a", "a [1]"]


# Tool calls

CALLS = 'get_weather:{"city": "Paris"};now:{}'


def test_tool_calls_query_format_keeps_the_json_text() -> None:
    assert parse_tool_calls(CALLS) == [
        ToolCall("get_weather", '{"city": "Paris"}'),
        ToolCall("now", "{}"),
    ]
    assert parse_tool_calls('  f : {"a;b": [1, ";"]} ') == [ToolCall("f", '{"a;b": [1, ";"]}')]
    assert ToolCall("f", {"x": "é"}).arguments == '{"x":"é"}'
    for bad in ("get_weather", ":{}", "f:{", "f:{} g:{}", "f:{};;"):
        with pytest.raises(ValueError):
            parse_tool_calls(bad)
    with pytest.raises(ValueError, match="name"):
        ToolCall("")


def test_tool_calls_whole_are_the_message_with_null_content(emu: Emulator) -> None:
    body = post(emu, query="tool_calls=" + requests.utils.quote(CALLS)).json()
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_0_0",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            },
            {"id": "call_0_1", "type": "function", "function": {"name": "now", "arguments": "{}"}},
        ],
    }
    emu.openai.tool_calls = parse_tool_calls(CALLS)
    message = client(emu).chat.completions.create(model="m", messages=HI).choices[0].message
    assert message.content is None and message.tool_calls is not None
    assert [
        (c.id, c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls
    ] == [
        ("call_0_0", "get_weather", {"city": "Paris"}),
        ("call_0_1", "now", {}),
    ]


def test_tool_calls_stream_a_header_then_argument_pieces_interleaved_by_index(
    emu: Emulator,
) -> None:
    emu.openai.tool_calls = parse_tool_calls(CALLS)
    chunks = events(post(emu, stream=True))
    assert deltas(chunks) == [
        {"role": "assistant", "content": None},
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_0_0",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": ""},
                }
            ]
        },
        {
            "tool_calls": [
                {
                    "index": 1,
                    "id": "call_0_1",
                    "type": "function",
                    "function": {"name": "now", "arguments": ""},
                }
            ]
        },
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"cit'}}]},
        {"tool_calls": [{"index": 1, "function": {"arguments": "{}"}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": 'y": "'}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": "Paris"}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '"}'}}]},
        {},
    ]
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert emu.requests[0].tokens_sent == 7


def test_openai_python_assembles_streamed_tool_calls(emu: Emulator) -> None:
    emu.openai.tool_calls = [ToolCall("get_weather", {"city": "Paris"}), ToolCall("now")]
    emu.openai.role_chunk = False
    calls: dict[int, dict[str, str]] = {}
    finish = None
    for chunk in client(emu).chat.completions.create(model="m", messages=HI, stream=True):
        choice = chunk.choices[0]
        finish = choice.finish_reason or finish
        for delta in choice.delta.tool_calls or []:
            call = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
            call["id"] += delta.id or ""
            assert delta.function is not None
            call["name"] += delta.function.name or ""
            call["arguments"] += delta.function.arguments or ""
    assert calls == {
        0: {"id": "call_0_0", "name": "get_weather", "arguments": '{"city":"Paris"}'},
        1: {"id": "call_0_1", "name": "now", "arguments": "{}"},
    }
    assert finish == "tool_calls"


# Reasoning, finish_reason


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_reasoning_comes_before_the_text_in_the_chosen_field(emu: Emulator, field: str) -> None:
    emu.openai = OpenAIOptions(tokens=["Yes"], reasoning=["Let ", "me ", "think"])
    chunks = events(post(emu, f"reasoning_field={field}", stream=True))
    assert deltas(chunks) == [
        {"role": "assistant", "content": ""},
        {field: "Let "},
        {field: "me "},
        {field: "think"},
        {"content": "Yes"},
        {},
    ]
    body = post(emu, f"reasoning_field={field}").json()
    assert body["choices"][0]["message"] == {
        "role": "assistant",
        "content": "Yes",
        field: "Let me think",
    }
    assert body["usage"]["completion_tokens"] == 4
    assert body["usage"]["completion_tokens_details"] == {"reasoning_tokens": 3}
    emu.openai.reasoning_field = field  # type: ignore[assignment]
    reasoning = ""
    for chunk in client(emu).chat.completions.create(model="m", messages=HI, stream=True):
        reasoning += getattr(chunk.choices[0].delta, field, None) or ""
    assert reasoning == "Let me think"
    message = client(emu).chat.completions.create(model="m", messages=HI).choices[0].message
    assert getattr(message, field) == "Let me think"


@pytest.mark.parametrize("reason", ["length", "content_filter"])
def test_finish_reason_is_the_options(emu: Emulator, reason: str) -> None:
    emu.openai.finish_reason = reason
    assert post(emu).json()["choices"][0]["finish_reason"] == reason
    chunks = list(client(emu).chat.completions.create(model="m", messages=HI, stream=True))
    assert chunks[-1].choices[0].finish_reason == reason
    emu.openai.tool_calls = [ToolCall("f")]
    assert post(emu).json()["choices"][0]["finish_reason"] == reason


# Usage


def test_openai_usage_shape_is_a_last_chunk_without_choices(emu: Emulator) -> None:
    chunks = events(post(emu, stream=True, **INCLUDE_USAGE))
    assert all(chunk["usage"] is None for chunk in chunks[:-2])
    assert chunks[-2]["choices"] == []
    assert chunks[-2]["usage"] == {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6}
    last = list(
        client(emu).chat.completions.create(model="m", messages=HI, stream=True, **INCLUDE_USAGE)
    )[-1]
    assert last.choices == [] and last.usage is not None and last.usage.total_tokens == 6


def test_litellm_usage_shape_is_a_last_chunk_with_an_empty_choice(emu: Emulator) -> None:
    emu.openai.usage_shape = "litellm"
    chunks = events(post(emu, stream=True, **INCLUDE_USAGE))
    assert all("usage" not in chunk for chunk in chunks[:-2])
    assert chunks[-3]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-2]["choices"] == [{"index": 0, "delta": {}, "finish_reason": None}]
    assert chunks[-2]["usage"]["completion_tokens"] == 3
    last = list(
        client(emu).chat.completions.create(model="m", messages=HI, stream=True, **INCLUDE_USAGE)
    )[-1]
    assert last.choices[0].delta.content is None and last.choices[0].finish_reason is None
    assert last.usage is not None and last.usage.completion_tokens == 3


def test_g4f_usage_shape_rides_on_the_last_finish_chunk(emu: Emulator) -> None:
    emu.openai.usage_shape = "g4f"
    chunks = events(post(emu, stream=True, n=2, **INCLUDE_USAGE))
    assert chunks[-2]["choices"][0] == {
        "index": 1,
        "delta": {},
        "logprobs": None,
        "finish_reason": "stop",
    }
    assert chunks[-2]["usage"]["completion_tokens"] == 7
    assert all("usage" not in chunk for chunk in chunks[:-2])
    last = list(
        client(emu).chat.completions.create(model="m", messages=HI, stream=True, **INCLUDE_USAGE)
    )[-1]
    assert last.choices[0].finish_reason == "stop" and last.usage is not None


def test_without_include_usage_no_chunk_has_usage(emu: Emulator) -> None:
    for shape in ("openai", "litellm", "g4f"):
        chunks = events(post(emu, f"usage_shape={shape}", stream=True))
        assert all("usage" not in chunk for chunk in chunks[:-1])
        assert len(chunks) == 6


# Logprobs


def test_logprobs_when_asked_with_top_logprobs(emu: Emulator) -> None:
    emu.openai.tokens = ["a", "é"]
    chunks = events(post(emu, stream=True, logprobs=True, top_logprobs=2))
    logprobs = [c["choices"][0]["logprobs"] for c in chunks[:-1]]
    assert logprobs[0] is None and logprobs[-1] is None  # the role and finish chunks
    assert logprobs[2] == {
        "content": [
            {
                "token": "é",
                "logprob": -0.02,
                "bytes": [195, 169],
                "top_logprobs": [
                    {"token": "é", "logprob": -0.02, "bytes": [195, 169]},
                    {"token": "alt1", "logprob": -1.02, "bytes": [97, 108, 116, 49]},
                ],
            }
        ],
        "refusal": None,
    }
    stream = client(emu).chat.completions.create(
        model="m", messages=HI, stream=True, logprobs=True, top_logprobs=3
    )
    entries = [
        e for c in stream if c.choices[0].logprobs for e in c.choices[0].logprobs.content or []
    ]
    assert [(e.token, e.logprob, len(e.top_logprobs)) for e in entries] == [
        ("a", -0.01, 3),
        ("é", -0.02, 3),
    ]
    whole = client(emu).chat.completions.create(model="m", messages=HI, logprobs=True)
    logprobs_whole = whole.choices[0].logprobs
    assert logprobs_whole is not None and logprobs_whole.content is not None
    assert [(e.token, e.top_logprobs) for e in logprobs_whole.content] == [("a", []), ("é", [])]


def test_logprobs_off_ignores_the_ask(emu: Emulator) -> None:
    emu.openai.logprobs = False
    assert post(emu, logprobs=True).json()["choices"][0]["logprobs"] is None
    chunks = events(post(emu, stream=True, logprobs=True, top_logprobs=1))
    assert all(c["choices"][0]["logprobs"] is None for c in chunks[:-1])


# Models and authentication


def test_models_lists_the_models_option(emu: Emulator) -> None:
    listed = requests.get(emu.url + "/v1/models", timeout=TIMEOUT).json()
    assert listed == {
        "object": "list",
        "data": [
            {
                "id": "emulated-gpt",
                "object": "model",
                "created": 1700000000,
                "owned_by": "emulator",
            },
            {
                "id": "emulated-mini",
                "object": "model",
                "created": 1700000000,
                "owned_by": "emulator",
            },
        ],
    }
    emu.openai.models = ["a", "b", "c"]
    assert [m.id for m in client(emu).models.list()] == ["a", "b", "c"]
    url = emu.url + "/v1/models?models=x,y"
    assert [m["id"] for m in requests.get(url, timeout=TIMEOUT).json()["data"]] == ["x", "y"]


def test_api_key_is_required_on_both_routes(emu: Emulator) -> None:
    key = "sk-proj-0123456789abcdefWXYZ"
    emu.openai.api_key = key
    missing = post(emu)
    assert missing.status_code == 401
    assert missing.json()["error"]["message"].startswith("You didn't provide an API key.")
    assert missing.json()["error"]["code"] is None
    wrong_key = "sk-proj-wrongwrongwrong9876"
    wrong = post(emu, headers={"Authorization": f"Bearer {wrong_key}"})
    assert wrong.status_code == 401
    error = wrong.json()["error"]
    assert (error["type"], error["code"], error["param"]) == (
        "invalid_request_error",
        "invalid_api_key",
        None,
    )
    masked = "sk-" + "*" * (len(wrong_key) - 7) + "9876"
    assert error["message"].startswith(f"Incorrect API key provided: {masked}.")
    assert wrong_key not in wrong.text
    assert post(emu, headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert client(emu, api_key=key).models.list().data[0].id == "emulated-gpt"
    for call in (
        lambda c: c.models.list(),
        lambda c: c.chat.completions.create(model="m", messages=HI),
    ):
        with pytest.raises(openai.AuthenticationError) as info:
            call(client(emu, api_key="short"))
        assert "*****." in str(info.value) and "short" not in str(info.value)


# Bad requests and options


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"messages": HI}, "model", "missing_required_parameter"),
        ({"model": 4, "messages": HI}, "model", "invalid_type"),
        ({"model": "m"}, "messages", "missing_required_parameter"),
        ({"model": "m", "messages": "hi"}, "messages", "invalid_type"),
        ({"model": "m", "messages": []}, "messages", "empty_array"),
        ({"model": "m", "messages": ["hi"]}, "messages[0]", "invalid_type"),
        (
            {"model": "m", "messages": [{"content": "hi"}]},
            "messages[0].role",
            "missing_required_parameter",
        ),
        ({"model": "m", "messages": [{"role": 1}]}, "messages[0].role", "invalid_type"),
        (
            {"model": "m", "messages": [{"role": "user", "content": 1}]},
            "messages[0].content",
            "invalid_type",
        ),
        ({"model": "m", "messages": HI, "stream": "yes"}, "stream", "invalid_type"),
        ({"model": "m", "messages": HI, "n": 0}, "n", "integer_below_min_value"),
        ({"model": "m", "messages": HI, "n": 129}, "n", "integer_above_max_value"),
        ({"model": "m", "messages": HI, "n": True}, "n", "invalid_type"),
        ({"model": "m", "messages": HI, **INCLUDE_USAGE}, "stream_options", "invalid_value"),
        (
            {"model": "m", "messages": HI, "stream": True, "stream_options": {"include_usage": 1}},
            "stream_options.include_usage",
            "invalid_type",
        ),
        ({"model": "m", "messages": HI, "top_logprobs": 2}, "logprobs", "invalid_value"),
        (
            {"model": "m", "messages": HI, "logprobs": True, "top_logprobs": 21},
            "top_logprobs",
            "integer_above_max_value",
        ),
    ],
)
def test_a_bad_body_gets_openais_400(emu: Emulator, body: Any, param: str, code: str) -> None:
    response = requests.post(emu.url + "/v1/chat/completions", json=body, timeout=TIMEOUT)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", param, code)
    assert param in error["message"]


def test_a_body_that_is_not_json_gets_a_400_and_counts_for_no_fault(emu: Emulator) -> None:
    emu.openai = OpenAIOptions(fault="server_error", fault_count=1)
    url = emu.url + "/v1/chat/completions"
    response = requests.post(url, data=b"{nope", timeout=TIMEOUT)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("We could not parse the JSON body")
    assert post(emu).status_code == 500  # the first answer counted
    assert post(emu).status_code == 200
    with pytest.raises(openai.BadRequestError) as info:
        client(emu).chat.completions.create(model="m", messages=[])
    assert info.value.code == "empty_array" and info.value.param == "messages"


def test_a_bad_query_gets_a_400_naming_it(emu: Emulator) -> None:
    for query in ("usage_shape=xml", "reasoning_field=thoughts", "tool_calls=f", "loud=1"):
        response = post(emu, query)
        assert response.status_code == 400
        assert query.split("=")[0] in response.json()["error"]


def test_bad_options_raise_and_bad_live_options_get_a_500(emu: Emulator) -> None:
    for bad in (
        {"usage_shape": "xml"},
        {"reasoning_field": "x"},
        {"tool_calls": "f:{}"},
        {"tool_calls": [("f", "{}")]},
        {"reasoning": "abc"},
        {"models": "a,b"},
        {"api_key": ""},
        {"finish_reason": ""},
        {"role_chunk": 1},
        {"timestamps": "yes"},
        {"count": -1},
        {"drop_after": -1},
        {"fault": "cloudflare"},
    ):
        with pytest.raises(ValueError, match=next(iter(bad))):
            OpenAIOptions(**bad)
    emu.openai.drop_after = -1
    response = post(emu)
    assert response.status_code == 500 and "drop_after" in response.json()["error"]


def test_the_command_line_sets_every_openai_option() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    argv = [
        "--no-openai-role-chunk",
        "--openai-empty-deltas",
        "--openai-tool-calls",
        'get_weather:{"city":"Paris"}',
        "--openai-reasoning",
        "a,b",
        "--openai-reasoning-field",
        "reasoning",
        "--openai-finish-reason",
        "length",
        "--openai-usage-shape",
        "litellm",
        "--no-openai-logprobs",
        "--openai-models",
        "x,y",
        "--openai-api-key",
        "sk-k",
        "--openai-fault",
        "drop",
        "--openai-fault-count",
        "2",
        "--openai-drop-after",
        "1",
        "--openai-tokens",
        "p,q",
        "--openai-count",
        "4",
        "--openai-timestamps",
        "--openai-delay",
        "0.5",
    ]
    assert emulator_from(parser.parse_args(argv)).openai == OpenAIOptions(
        role_chunk=False,
        empty_deltas=True,
        tool_calls=[ToolCall("get_weather", '{"city":"Paris"}')],
        reasoning=["a", "b"],
        reasoning_field="reasoning",
        finish_reason="length",
        usage_shape="litellm",
        logprobs=False,
        models=["x", "y"],
        api_key="sk-k",
        fault="drop",
        fault_count=2,
        drop_after=1,
        tokens=["p", "q"],
        count=4,
        timestamps=True,
        delay=0.5,
    )
    assert emulator_from(parser.parse_args([])).openai == OpenAIOptions()
    for bad in (["--openai-usage-shape", "xml"], ["--openai-fault", "cloudflare"]):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)


def test_the_command_line_serves_the_openai_options() -> None:
    argv = ["--openai-tokens", "a,b", "--openai-api-key", "sk-cli", "--openai-reasoning", "r"]
    with EmulatorProcess(argv) as process:
        remote = openai.OpenAI(
            base_url=process.url + "/v1", api_key="sk-cli", max_retries=0, timeout=TIMEOUT
        )
        message = remote.chat.completions.create(model="m", messages=HI).choices[0].message
        assert message.content == "ab"
        assert message.reasoning_content == "r"  # type: ignore[attr-defined]
        # per request, as a query: what a client's extra_query sends
        extra = {"fault": "not_found"}
        with pytest.raises(openai.NotFoundError, match="The model `m` does not exist"):
            remote.chat.completions.create(model="m", messages=HI, extra_query=extra)


# Faults before the answer


@pytest.mark.parametrize(
    ("fault", "status", "error_class", "code"),
    [
        ("unauthorized", 401, openai.AuthenticationError, "invalid_api_key"),
        ("rate_limit", 429, openai.RateLimitError, "rate_limit_exceeded"),
        ("context_length", 400, openai.BadRequestError, "context_length_exceeded"),
        ("not_found", 404, openai.NotFoundError, "model_not_found"),
        ("unprocessable", 422, openai.UnprocessableEntityError, None),
        ("server_error", 500, openai.InternalServerError, None),
        ("no_retry", 500, openai.InternalServerError, None),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_a_fault_before_the_answer_maps_to_openais_exception(
    emu: Emulator, fault: str, status: int, error_class: type, code: Optional[str], stream: bool
) -> None:
    emu.openai.fault = fault
    response = post(emu, stream=stream)
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json"
    with pytest.raises(error_class) as info:
        client(emu).chat.completions.create(model="gpt-x", messages=HI, stream=stream)
    assert info.value.status_code == status
    assert info.value.code == code
    assert info.value.request_id.startswith("req_")


def test_fault_bodies_and_headers_are_openais(emu: Emulator) -> None:
    emu.openai.retry_after = "2.5"
    limited = post(emu, "fault=rate_limit", model="gpt-x")
    assert (limited.headers["retry-after"], limited.headers["retry-after-ms"]) == ("2.5", "2500")
    assert limited.json()["error"]["type"] == "requests"
    assert "gpt-x" in limited.json()["error"]["message"]
    dated = post(emu, "fault=rate_limit&retry_after=Wed,%2021%20Oct%202015%2007:28:00%20GMT")
    assert "retry-after-ms" not in dated.headers and dated.headers["retry-after"].startswith("Wed")
    context = post(emu, "fault=context_length").json()["error"]
    assert (context["param"], context["type"]) == ("messages", "invalid_request_error")
    missing = post(emu, "fault=not_found", model="gpt-9").json()["error"]["message"]
    assert missing == "The model `gpt-9` does not exist or you do not have access to it."
    assert post(emu, "fault=unprocessable").json()["detail"][0]["loc"] == ["body"]
    assert post(emu, "fault=server_error").json()["error"]["type"] == "server_error"
    assert "x-should-retry" not in post(emu, "fault=server_error").headers
    assert post(emu, "fault=no_retry").headers["x-should-retry"] == "false"
    emu.openai.api_key = "sk-right-key-0000"
    refused = post(emu, "fault=unauthorized", headers={"Authorization": "Bearer sk-right-key-0000"})
    assert refused.status_code == 401 and "sk-right-key-0000" not in refused.text


def test_openai_python_retries_after_retry_after_ms_but_not_past_x_should_retry(
    emu: Emulator,
) -> None:
    emu.openai = OpenAIOptions(fault="rate_limit", fault_count=1, retry_after="0.001")
    completion = client(emu, max_retries=1).chat.completions.create(model="m", messages=HI)
    assert completion.choices[0].message.content == "one two three"
    assert emu.request_count == 2
    emu.openai = OpenAIOptions(fault="no_retry")
    with pytest.raises(openai.InternalServerError):
        client(emu, max_retries=3).chat.completions.create(model="m", messages=HI)
    assert emu.request_count == 3  # one more: not retried


def test_fault_count_faults_the_first_n_chat_requests_only(emu: Emulator) -> None:
    emu.openai = OpenAIOptions(fault="server_error", fault_count=2)
    assert requests.get(emu.url + "/v1/models", timeout=TIMEOUT).status_code == 200  # not counted
    assert [post(emu).status_code for _ in range(4)] == [500, 500, 200, 200]
    emu.openai = OpenAIOptions(fault="server_error", fault_count=2)  # a new count
    assert post(emu).status_code == 500


def test_silent_head_sends_nothing_until_the_client_goes(emu: Emulator) -> None:
    emu.openai.fault = "silent_head"
    with pytest.raises(openai.APITimeoutError):
        client(emu, timeout=0.3).chat.completions.create(model="m", messages=HI)
    assert emu.requests[0].status is None
    assert emu.requests[0].finished.wait(TIMEOUT) and emu.requests[0].disconnected.is_set()


# Faults in the answer


def test_error_event_ends_the_stream_after_drop_after_tokens(emu: Emulator) -> None:
    emu.openai = OpenAIOptions(fault="error_event", drop_after=2)
    chunks = events(post(emu, stream=True))
    assert [d.get("content") for d in (c["choices"][0]["delta"] for c in chunks[:-1])] == [
        "",
        "one ",
        "two ",
    ]
    assert chunks[-1] == {
        "error": {
            "message": "The server had an error while processing your request. Sorry about that!",
            "type": "server_error",
            "param": None,
            "code": None,
        }
    }
    received = []
    with pytest.raises(openai.APIError, match="Sorry about that") as info:
        for chunk in client(emu).chat.completions.create(model="m", messages=HI, stream=True):
            received.append(chunk.choices[0].delta.content)
    assert received == ["", "one ", "two "]
    assert info.value.body == chunks[-1]["error"]


def test_error_event_with_fewer_tokens_comes_after_the_last(emu: Emulator) -> None:
    emu.openai = OpenAIOptions(fault="error_event", drop_after=9, tokens=["a"])
    chunks = events(post(emu, stream=True))
    assert len(chunks) == 3 and "error" in chunks[-1]  # role+a, then the error: no finish


def test_error_event_not_streamed_is_a_200_error_body(emu: Emulator) -> None:
    response = post(emu, "fault=error_event")
    assert response.status_code == 200
    assert response.json()["error"]["type"] == "server_error"


@pytest.mark.parametrize("framing", FRAMINGS)
def test_drop_cuts_the_stream_after_drop_after_tokens(emu: Emulator, framing: str) -> None:
    emu.openai = OpenAIOptions(fault="drop", drop_after=1, framing=framing)  # type: ignore[arg-type]
    received = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in client(emu).chat.completions.create(model="m", messages=HI, stream=True):
            received.append(chunk.choices[0].delta.content)
    assert received == ["", "one "]
    assert emu.requests[0].tokens_sent == 1
    response = post(emu, lazy=True, stream=True)
    with pytest.raises(requests.exceptions.RequestException):
        response.content  # noqa: B018


@pytest.mark.parametrize("framing", FRAMINGS)
def test_drop_not_streamed_sends_half_the_body(emu: Emulator, framing: str) -> None:
    emu.openai = OpenAIOptions(fault="drop", framing=framing)  # type: ignore[arg-type]
    with pytest.raises(openai.APIConnectionError):
        client(emu).chat.completions.create(model="m", messages=HI)
    assert emu.requests[0].status == 200


def test_silent_stops_after_drop_after_tokens(emu: Emulator) -> None:
    emu.openai = OpenAIOptions(fault="silent", drop_after=2)
    received = []
    with pytest.raises(openai.APITimeoutError):
        stream = client(emu, timeout=0.3).chat.completions.create(
            model="m", messages=HI, stream=True
        )
        for chunk in stream:
            received.append(chunk.choices[0].delta.content)
    assert received == ["", "one ", "two "]
    assert emu.requests[0].disconnected.wait(TIMEOUT)


def test_silent_not_streamed_sends_the_head_only(emu: Emulator) -> None:
    emu.openai.fault = "silent"
    response = post(emu, lazy=True)
    assert response.status_code == 200
    response.close()
    assert emu.requests[0].disconnected.wait(TIMEOUT)
    assert emu.requests[0].tokens_sent == 0
