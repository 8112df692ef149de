"""The OpenAI-compatible providers (``OpenaiTemplate``, ``Custom`` and the presets) over real
HTTP against the emulator's OpenAI service: text tokens and typed chunks, the request body
as sent, the checks made before any I/O, base URLs, API keys, and the model list."""

from __future__ import annotations

import logging
from typing import Any, Dict, List
from urllib.parse import urlencode, urlsplit

import pytest
import requests
from support import HI, HI_THERE, TIMEOUT, port_of

from g4f_sync import errors
from g4f_sync.chat import ChatCompletionChunk, build_completion
from g4f_sync.emulator import Emulator
from g4f_sync.Provider import PRESETS, Custom, Ollama, OpenaiTemplate
from g4f_sync.Provider.presets import preset
from g4f_sync.Provider.template.OpenaiTemplate import MODELS_CACHE_SIZE

KEY = "sk-proj-emulated0123456789WXYZ"
"""A key long enough for the emulator to show a masked form of it (first 3, last 4)."""

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]

TOOL_CONVERSATION: List[Dict[str, Any]] = [
    {"role": "developer", "content": "Use the tools."},
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is in this picture and the weather in Paris?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        ],
    },
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": '{"temperature": 21}'},
]
"""Every message shape OpenAI takes beyond plain text: developer, parts with an image,
an assistant's tool calls, a tool's result."""


def sent(emu: Emulator) -> Dict[str, Any]:
    """The JSON body of the last request the emulator received."""
    return emu.requests[-1].json()  # type: ignore[no-any-return]


def replay(emu: Emulator) -> requests.Response:
    """The last request sent again as it was recorded (path, query, body), by requests."""
    request = emu.requests[-1]
    url = f"{emu.url}{request.path}?{urlencode(request.query)}"
    return requests.post(url, data=request.body, timeout=TIMEOUT)


def paths(emu: Emulator) -> List[str]:
    return [f"{request.method} {request.path}" for request in emu.requests]


CHAT = "POST /v1/chat/completions"
MODELS = "GET /v1/models"


# Text tokens: create_completion


def test_create_completion_streams_the_text_tokens(emu: Emulator) -> None:
    custom = emu.provider(Custom)
    assert list(custom.create_completion("emulated-gpt", HI_THERE)) == ["Hi ", "there"]
    assert paths(emu) == [CHAT]
    assert sent(emu) == {"model": "emulated-gpt", "messages": HI_THERE, "stream": True}
    headers = emu.requests[0].headers
    assert headers["Accept"] == "text/event-stream"
    assert headers["Content-Type"] == "application/json"
    assert "Authorization" not in headers  # no key, none sent


def test_create_completion_not_streamed_yields_the_whole_text_once(emu: Emulator) -> None:
    custom = emu.provider(Custom, tokens=["Hé", "llo", " 🙂"])
    assert list(custom.create_completion("m", HI, stream=False)) == ["Héllo 🙂"]
    assert sent(emu) == {"model": "m", "messages": HI, "stream": False}
    assert emu.requests[0].headers["Accept"] == "application/json"


def test_create_completion_yields_no_empty_token(emu: Emulator) -> None:
    """The role chunk's and empty deltas' ``""`` carry no text: they are not tokens."""
    custom = emu.provider(Custom, tokens=["a", "b"], empty_deltas=True)
    assert list(custom.create_completion("m", HI)) == ["a", "b"]


@pytest.mark.parametrize(
    ("query", "options", "what"),
    [
        ({"tool_calls": 'f:{"a":1}'}, {}, "tool calls"),  # sent unasked
        ({}, {"extra_body": {"tools": TOOLS}, "query": {"tool_calls": "f:{}"}}, "tool calls"),
        ({}, {"extra_body": {"n": 2}}, "choice 1"),
    ],
)
@pytest.mark.parametrize("stream", [True, False])
def test_create_completion_refuses_an_answer_text_cannot_carry(
    emu: Emulator, query: Dict[str, Any], options: Dict[str, Any], what: str, stream: bool
) -> None:
    """Never an empty or half answer in silence: tool calls or a second choice (asked
    through extra_body, or sent unasked) raise, naming what came."""
    options = dict(options)
    custom = emu.provider(Custom, **{**query, **options.pop("query", {})})
    with pytest.raises(errors.ResponseError) as info:
        list(custom.create_completion("m", HI, stream, **options))
    assert str(info.value) == (
        f"Custom: the server answered with {what}, which text tokens cannot carry;"
        " use g4f_sync.Client().chat.completions.create"
    )
    # whole, choice 0 came complete before choice 1; streamed, only its role chunk had
    assert info.value.partial == ("Hi" if what == "choice 1" and not stream else "")
    assert emu.request_count == 1


def test_create_completion_keeps_the_text_before_a_second_choice(emu: Emulator) -> None:
    custom = emu.provider(Custom, role_chunk=False)
    received = []
    with pytest.raises(errors.ResponseError) as info:
        for token in custom.create_completion("m", HI_THERE, extra_body={"n": 2}):
            received.append(token)
    assert received == ["Hi "]  # choice 0's first chunk came before choice 1's
    assert info.value.partial == "Hi "


@pytest.mark.parametrize(
    ("option", "name"),
    [
        ({"tools": TOOLS}, "tools"),
        ({"tool_choice": "auto"}, "tool_choice"),
        ({"parallel_tool_calls": True}, "parallel_tool_calls"),
        ({"n": 2}, "n"),
        ({"logprobs": True}, "logprobs"),
        ({"logprobs": True, "top_logprobs": 2}, "logprobs"),
    ],
)
@pytest.mark.parametrize("stream", [True, False])
def test_create_completion_refuses_what_text_cannot_carry(
    emu: Emulator, option: Dict[str, Any], name: str, stream: bool
) -> None:
    custom = emu.provider(Custom)
    with pytest.raises(errors.InvalidRequestError) as info:
        custom.create_completion("m", HI, stream, **option)
    assert str(info.value) == (
        f"Custom.create_completion yields text only and cannot carry what {name}= asks for;"
        " use g4f_sync.Client().chat.completions.create"
    )
    assert emu.requests == []


def test_create_completion_takes_the_text_only_values_of_those_options(emu: Emulator) -> None:
    custom = emu.provider(Custom)
    tokens = custom.create_completion("m", HI, n=1, logprobs=False, parallel_tool_calls=False)
    assert list(tokens) == ["Hi"]
    body = sent(emu)
    assert (body["n"], body["logprobs"], body["parallel_tool_calls"]) == (1, False, False)


# Typed chunks: create_chunks


def test_create_chunks_yields_the_servers_chunks_typed(emu: Emulator) -> None:
    custom = emu.provider(Custom)
    chunks = list(custom.create_chunks("emulated-gpt", HI_THERE))
    assert all(isinstance(chunk, ChatCompletionChunk) for chunk in chunks)
    assert [chunk.choices[0].delta.content for chunk in chunks] == ["", "Hi ", "there", None]
    assert [chunk.choices[0].delta.role for chunk in chunks] == ["assistant", None, None, None]
    assert [chunk.choices[0].finish_reason for chunk in chunks] == [None, None, None, "stop"]
    assert len({chunk.id for chunk in chunks}) == 1 and chunks[0].id.startswith("chatcmpl-")
    assert {(c.model, c.provider, c.system_fingerprint) for c in chunks} == {
        ("emulated-gpt", "Custom", "fp_emulated")
    }
    assert {chunk.object for chunk in chunks} == {"chat.completion.chunk"}
    assert all(chunk.usage is None for chunk in chunks)


def test_create_chunks_of_tool_calls_carry_the_pieces_by_index(emu: Emulator) -> None:
    custom = emu.provider(Custom, tool_calls='get_weather:{"city":"Paris"};now:{}')
    chunks = list(custom.create_chunks("m", HI, tools=TOOLS))
    pieces = [
        (call.index, call.id, call.function.name, call.function.arguments)
        for chunk in chunks
        for call in chunk.choices[0].delta.tool_calls or []
        if call.function is not None
    ]
    assert pieces == [
        (0, "call_0_0", "get_weather", ""),
        (1, "call_0_1", "now", ""),
        (0, None, None, '{"cit'),
        (1, None, None, "{}"),
        (0, None, None, 'y":"P'),
        (0, None, None, 'aris"'),
        (0, None, None, "}"),
    ]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    calls = build_completion(chunks).choices[0].message.tool_calls
    assert [(c.id, c.function.name, c.function.arguments) for c in calls or []] == [
        ("call_0_0", "get_weather", '{"city":"Paris"}'),
        ("call_0_1", "now", "{}"),
    ]


def test_create_chunks_not_streamed_are_the_chunks_of_the_whole_answer(emu: Emulator) -> None:
    """One chunk per choice (its whole message), then the usage; joined by
    build_completion they are the server's answer, nothing dropped."""
    custom = emu.provider(Custom, reasoning=["Let ", "me see"])
    options: Dict[str, Any] = {"n": 2, "logprobs": True, "top_logprobs": 1}
    chunks = list(custom.create_chunks("m", HI_THERE, stream=False, **options))
    assert [[(c.index, c.delta.content) for c in chunk.choices] for chunk in chunks] == [
        [(0, "Hi there")],
        [(1, "Hi there [1]")],
        [],
    ]
    assert [chunk.usage is not None for chunk in chunks] == [False, False, True]
    whole = build_completion(chunks).to_dict()
    server = replay(emu).json()
    assert whole["id"] != server["id"]  # two answers; everything else is the same
    for key in ("model", "system_fingerprint", "object"):
        assert whole[key] == server[key]
    assert whole["usage"] == {
        **server["usage"],
        "prompt_tokens_details": None,
    }
    for mine, theirs in zip(whole["choices"], server["choices"]):
        assert mine["index"] == theirs["index"]
        assert mine["finish_reason"] == theirs["finish_reason"]
        assert mine["logprobs"] == theirs["logprobs"]
        assert mine["message"] == {
            "role": "assistant",
            "content": theirs["message"]["content"],
            "refusal": None,
            "tool_calls": None,
            "reasoning_content": theirs["message"]["reasoning_content"],
        }


def test_create_chunks_streamed_and_not_build_the_same_answer(emu: Emulator) -> None:
    custom = emu.provider(Custom, tool_calls='f:{"x":[1,2,3]}', reasoning=["hm"])
    options: Dict[str, Any] = {"n": 3, "tools": TOOLS}
    usage = {"stream_options": {"include_usage": True}}
    streamed = build_completion(custom.create_chunks("m", HI, True, **options, **usage))
    whole = build_completion(custom.create_chunks("m", HI, False, **options))
    assert streamed.to_dict()["choices"] == whole.to_dict()["choices"]
    assert streamed.usage == whole.usage
    assert [c.message.content for c in whole.choices] == [None, None, None]
    assert [c.message.reasoning_content for c in whole.choices] == ["hm"] * 3


# The request as sent

EVERY_OPTION: List[Any] = [
    ("temperature", 0.2),
    ("top_p", 0.9),
    ("n", 3),
    ("seed", 42),
    ("stop", ["\n\n", "END"]),
    ("stop", "END"),
    ("max_tokens", 64),
    ("max_completion_tokens", 128),
    ("presence_penalty", -0.5),
    ("frequency_penalty", 1.5),
    ("logit_bias", {"50256": -100, "1234": 5.5}),
    ("logprobs", True),
    ("logprobs", False),
    ("user", "user-1234"),
    ("tools", TOOLS),
    ("tool_choice", "required"),
    ("tool_choice", {"type": "function", "function": {"name": "get_weather"}}),
    ("parallel_tool_calls", False),
    ("response_format", {"type": "json_object"}),
    (
        "response_format",
        {
            "type": "json_schema",
            "json_schema": {
                "name": "weather",
                "strict": True,
                "schema": {"type": "object", "properties": {"c": {"type": "number"}}},
            },
        },
    ),
    ("reasoning_effort", "low"),
]


@pytest.mark.parametrize(("name", "value"), EVERY_OPTION)
@pytest.mark.parametrize("stream", [True, False])
def test_every_openai_option_is_sent_as_given(
    emu: Emulator, name: str, value: Any, stream: bool
) -> None:
    chunks = emu.provider(Custom).create_chunks("m", HI, stream, **{name: value})
    assert build_completion(chunks).choices[0].message.content == "Hi"
    assert sent(emu) == {"model": "m", "messages": HI, "stream": stream, name: value}


def test_top_logprobs_and_stream_options_are_sent_with_what_they_need(emu: Emulator) -> None:
    custom = emu.provider(Custom)
    list(custom.create_chunks("m", HI, logprobs=True, top_logprobs=3))
    assert sent(emu) == {
        "model": "m",
        "messages": HI,
        "stream": True,
        "logprobs": True,
        "top_logprobs": 3,
    }
    list(custom.create_chunks("m", HI, stream_options={"include_usage": True}))
    assert sent(emu)["stream_options"] == {"include_usage": True}


def test_none_means_not_given_and_is_not_sent(emu: Emulator) -> None:
    list(emu.provider(Custom).create_completion("m", HI, temperature=None, stop=None, user=None))
    assert sent(emu) == {"model": "m", "messages": HI, "stream": True}


def test_every_message_shape_is_sent_as_given(emu: Emulator) -> None:
    custom = emu.provider(Custom)
    chunks = custom.create_chunks("m", TOOL_CONVERSATION, tools=TOOLS, tool_choice="auto")
    answer = build_completion(chunks)
    assert sent(emu)["messages"] == TOOL_CONVERSATION
    # the emulator echoes the last user message's text parts
    assert answer.choices[0].message.content == "What is in this picture and the weather in Paris?"


def test_extra_body_is_merged_last_and_wins(emu: Emulator) -> None:
    custom = emu.provider(Custom)
    extra = {"temperature": 1.5, "top_k": 40, "repetition_penalty": 1.1}
    list(custom.create_completion("m", HI, temperature=0.1, seed=7, extra_body=extra))
    assert sent(emu) == {
        "model": "m",
        "messages": HI,
        "stream": True,
        "temperature": 1.5,
        "seed": 7,
        "top_k": 40,
        "repetition_penalty": 1.1,
    }


def test_extra_headers_and_extra_query_go_with_the_request(emu: Emulator) -> None:
    custom = emu.provider(Custom, tokens=["class"])
    tokens = custom.create_completion(
        "m",
        HI,
        api_key=KEY,
        extra_headers={"X-Title": "g4f_sync tests", "HTTP-Referer": "https://example.org"},
        extra_query={"tokens": "query", "delay": "0"},
    )
    assert list(tokens) == ["query"]  # the call's query wins over the class's
    request = emu.requests[0]
    assert request.query == {"tokens": "query", "delay": "0"}
    assert request.headers["X-Title"] == "g4f_sync tests"
    assert request.headers["HTTP-Referer"] == "https://example.org"
    assert request.headers["Authorization"] == f"Bearer {KEY}"


def test_extra_headers_win_over_the_providers_headers(emu: Emulator) -> None:
    custom = emu.provider(Custom)
    list(custom.create_completion("m", HI, api_key=KEY, extra_headers={"Accept": "*/*"}))
    assert emu.requests[0].headers["Accept"] == "*/*"


# Checked before any I/O


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"temperature": "hot"}, "temperature must be a number, got 'hot'"),
        ({"temperature": float("nan")}, "temperature must be a number, got nan"),
        ({"top_p": None, "n": 0}, "n must be a positive integer, got 0"),
        ({"n": True}, "n must be a positive integer, got True"),
        ({"seed": 1.5}, "seed must be an integer, got 1.5"),
        ({"stop": []}, "stop must be a string or a non-empty list of strings, got []"),
        ({"stop": ["a", 1]}, "stop must be a string or a non-empty list of strings, got ['a', 1]"),
        ({"max_tokens": 0}, "max_tokens must be a positive integer, got 0"),
        (
            {"max_completion_tokens": "9"},
            "max_completion_tokens must be a positive integer, got '9'",
        ),
        ({"presence_penalty": [1]}, "presence_penalty must be a number, got [1]"),
        ({"frequency_penalty": "x"}, "frequency_penalty must be a number, got 'x'"),
        (
            {"logit_bias": {"50256": "low"}},
            "logit_bias must be a mapping of token ids to numbers, got {'50256': 'low'}",
        ),
        ({"logprobs": "yes"}, "logprobs must be True or False, got 'yes'"),
        ({"top_logprobs": -1}, "top_logprobs must be a non-negative integer, got -1"),
        ({"user": 5}, "user must be a string, got 5"),
        (
            {"tools": [{"type": "function"}]},
            "tools must be a list of {'type': 'function', 'function': {'name': ...}} objects,"
            " got [{'type': 'function'}]",
        ),
        (
            {"tool_choice": "any"},
            "tool_choice must be 'none', 'auto', 'required' or {'function': {'name': ...}},"
            " got 'any'",
        ),
        ({"parallel_tool_calls": 1}, "parallel_tool_calls must be True or False, got 1"),
        (
            {"response_format": {"type": "xml"}},
            "response_format must be {'type': 'text' | 'json_object'} or {'type': 'json_schema',"
            " 'json_schema': {'name': ..., 'schema': ...}}, got {'type': 'xml'}",
        ),
        (
            {"response_format": {"type": "json_schema", "json_schema": {"schema": {}}}},
            "response_format must be {'type': 'text' | 'json_object'} or {'type': 'json_schema',"
            " 'json_schema': {'name': ..., 'schema': ...}}, got {'type': 'json_schema',"
            " 'json_schema': {'schema': {}}}",
        ),
        ({"reasoning_effort": 1}, "reasoning_effort must be a string such as 'low', got 1"),
        (
            {"stream_options": {"include_usage": "yes"}},
            "stream_options must be {'include_usage': True or False}, got {'include_usage': 'yes'}",
        ),
        ({"extra_body": [("a", 1)]}, "extra_body must be a mapping, got [('a', 1)]"),
        (
            {"extra_headers": {"X-Count": 1}},
            "extra_headers must be a mapping of strings to strings, got {'X-Count': 1}",
        ),
        (
            {"extra_query": {"tokens": ["a"]}},
            "extra_query must be a mapping of strings to strings, got {'tokens': ['a']}",
        ),
        ({"base_url": "localhost:8080"}, "base_url must be an http(s) URL, got 'localhost:8080'"),
        ({"api_key": ""}, "api_key must be a non-empty string, got str"),
        ({"api_key": 12345}, "api_key must be a non-empty string, got int"),
        ({"top_logprobs": 2}, "top_logprobs needs logprobs=True"),
        ({"logprobs": False, "top_logprobs": 2}, "top_logprobs needs logprobs=True"),
    ],
)
@pytest.mark.parametrize("method", ["create_completion", "create_chunks"])
def test_a_bad_option_is_refused_before_any_io(
    emu: Emulator, option: Dict[str, Any], message: str, method: str
) -> None:
    """create_completion refuses the options text cannot carry whatever their value."""
    custom = emu.provider(Custom)
    with pytest.raises(errors.InvalidRequestError) as info:
        getattr(custom, method)("m", HI, **option)
    refused = [
        name
        for name, value in option.items()
        if name in custom.text_only_refused
        and value not in (None, False)  # so 0, which == False, passes too
        and not (name == "n" and value == 1)
    ]
    if method == "create_completion" and refused:
        assert str(info.value).startswith("Custom.create_completion yields text only")
    else:
        assert str(info.value) == f"Custom: {message}"
    assert emu.requests == []


def test_stream_options_without_stream_is_refused_before_any_io(emu: Emulator) -> None:
    custom = emu.provider(Custom)
    for method in (custom.create_completion, custom.create_chunks):
        with pytest.raises(errors.InvalidRequestError) as info:
            method("m", HI, False, stream_options={"include_usage": True})
        assert str(info.value) == "Custom: stream_options needs stream=True"
    assert emu.requests == []


def test_an_unknown_option_is_refused_naming_the_closest(emu: Emulator) -> None:
    with pytest.raises(errors.InvalidRequestError) as info:
        emu.provider(Custom).create_chunks("m", HI, temprature=0.5)
    assert str(info.value) == (
        "Custom does not take the option 'temprature'; did you mean 'temperature'?"
    )
    with pytest.raises(
        errors.InvalidRequestError, match=r"^stream must be True or False, got 'yes'$"
    ):
        emu.provider(Custom).create_completion("m", HI, stream="yes")  # type: ignore[arg-type]
    assert emu.requests == []


@pytest.mark.parametrize(
    ("messages", "message"),
    [
        ([], "messages must be a non-empty list of {'role', 'content'} dicts, got []"),
        ("Hi", "messages must be a non-empty list of {'role', 'content'} dicts, got 'Hi'"),
        (["Hi"], "messages[0] must be a dict, got str"),
        (
            [{"role": "robot", "content": "Hi"}],
            "messages[0]: role 'robot' is not one of system, developer, user, assistant, tool",
        ),
        (
            [{"role": "user"}],
            "messages[0]: content must be a string or a non-empty list of parts, got None",
        ),
        (
            [{"role": "user", "content": 5}],
            "messages[0]: content must be a string or a non-empty list of parts, got 5",
        ),
        (
            [{"role": "user", "content": []}],
            "messages[0]: content must be a string or a non-empty list of parts, got []",
        ),
        (
            [{"role": "user", "content": [{"type": "video", "url": "x"}]}],
            "messages[0].content[0]: a part must be a dict whose type is one of text, image_url,"
            " input_audio, file, got {'type': 'video', 'url': 'x'}",
        ),
        (
            [{"role": "user", "content": ["Hi"]}],
            "messages[0].content[0]: a part must be a dict whose type is one of text, image_url,"
            " input_audio, file, got 'Hi'",
        ),
        (
            [{"role": "user", "content": [{"type": "text", "content": "Hi"}]}],
            "messages[0].content[0]: a text part needs a 'text' string",
        ),
        (
            [{"role": "user", "content": [{"type": "image_url", "image_url": "http://x/a.png"}]}],
            "messages[0].content[0]: an image_url part needs {'image_url': {'url': ...}}",
        ),
        (
            [*HI, {"role": "tool", "content": "21"}],
            "messages[1]: a tool message needs a 'tool_call_id' string",
        ),
        (
            [*HI, {"role": "tool", "tool_call_id": 1, "content": "21"}],
            "messages[1]: a tool message needs a 'tool_call_id' string",
        ),
        (
            [*HI, {"role": "assistant", "content": None, "tool_calls": []}],
            "messages[1]: tool_calls must be a non-empty list",
        ),
        (
            [
                *HI,
                {
                    "role": "assistant",
                    "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": {}}}],
                },
            ],
            "messages[1].tool_calls[0] must be {'id', 'type': 'function', 'function': {'name',"
            " 'arguments': a JSON string}}",
        ),
        (
            [*HI, {"role": "assistant", "content": None}],
            "messages[1]: content must be a string or a non-empty list of parts, got None",
        ),
    ],
)
def test_a_bad_message_is_refused_before_any_io(emu: Emulator, messages: Any, message: str) -> None:
    custom = emu.provider(Custom)
    for method in (custom.create_completion, custom.create_chunks):
        with pytest.raises(errors.InvalidMessagesError) as info:
            method("m", messages)
        assert str(info.value) == message
    assert emu.requests == []


def test_a_model_that_is_not_a_string_is_refused_before_any_io(emu: Emulator) -> None:
    with pytest.raises(errors.ModelNotSupportedError) as info:
        emu.provider(Custom).create_completion(4, HI)  # type: ignore[arg-type]
    assert str(info.value) == "model must be a string, got 4"
    assert emu.requests == []


# Base URLs


@pytest.mark.parametrize("path", ["/v1", "/v1/"])
def test_a_base_url_with_a_path_is_used_as_written(emu: Emulator, path: str) -> None:
    rebased = Custom.rebased(emu.url + path)
    assert rebased.base_url == emu.url + "/v1"  # no trailing slash
    assert list(rebased.create_completion("m", HI)) == ["Hi"]
    list(Custom.create_completion("m", HI, base_url=emu.url + path))
    assert paths(emu) == [CHAT, CHAT]  # never /v1/v1, never //chat


def test_a_bare_host_gets_v1(emu: Emulator) -> None:
    rebased = Custom.rebased(emu.url)
    assert rebased.base_url == emu.url + "/v1"
    assert list(rebased.create_completion("m", HI)) == ["Hi"]
    assert list(Custom.create_completion("m", HI, base_url=emu.url + "/")) == ["Hi"]
    assert paths(emu) == [CHAT, CHAT]


def test_another_path_is_kept(emu: Emulator) -> None:
    """A server under another prefix (a proxy's ``/openai/v1``) is asked there."""
    with pytest.raises(errors.ResponseStatusError) as info:
        list(Custom.create_completion("m", HI, base_url=emu.url + "/openai/v1"))
    assert emu.requests[0].path == "/openai/v1/chat/completions"
    assert info.value.status_code == 404


@pytest.mark.parametrize("form", ["{host}:{port}", "http://{host}:{port}", "http://{host}:{port}/"])
def test_ollama_host_gives_the_host_and_port(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", form.format(host="127.0.0.1", port=port_of(emu.url)))
    assert Ollama.resolve_base_url() == emu.url + "/v1"
    assert list(Ollama.create_completion("llama3.2", HI)) == ["Hi"]
    assert paths(emu) == [CHAT]
    assert sent(emu)["model"] == "llama3.2"


def test_without_ollama_host_ollama_is_on_localhost(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    assert Ollama.resolve_base_url() == "http://localhost:11434/v1"


def test_a_per_call_base_url_wins_over_the_class_and_the_environment(
    make_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    used, unused = make_emulator(), make_emulator()
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{port_of(unused.url)}")
    assert list(Ollama.create_completion("m", HI, base_url=used.url + "/v1")) == ["Hi"]
    rebased = unused.provider(Custom)
    assert list(rebased.create_completion("m", HI, base_url=used.url)) == ["Hi"]
    assert (used.request_count, unused.request_count) == (2, 0)


@pytest.mark.parametrize(
    ("base_url", "message"),
    [
        (
            "ftp://example.org/v1",
            "base_url 'ftp://example.org/v1' must be http(s)://host[:port]/path",
        ),
        ("http://", "base_url 'http://' must be http(s)://host[:port]/path"),
        (
            "http://not a host/v1",
            "base_url 'http://not a host/v1' must be http(s)://host[:port]/path",
        ),
        (
            "http://127.0.0.1:99999/v1",
            "base_url 'http://127.0.0.1:99999/v1' must be http(s)://host[:port]/path",
        ),
    ],
)
def test_a_base_url_that_cannot_be_used_is_refused_before_any_io(
    emu: Emulator, base_url: str, message: str
) -> None:
    with pytest.raises(errors.InvalidRequestError) as info:
        emu.provider(Custom).create_completion("m", HI, base_url=base_url)
    assert str(info.value) == f"Custom: {message}"
    with pytest.raises(errors.InvalidRequestError) as info:
        Custom.rebased(base_url)
    assert str(info.value) == f"Custom: {message}"
    assert emu.requests == []


def test_a_bad_ollama_host_is_refused_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "ftp://127.0.0.1:11434")
    with pytest.raises(errors.InvalidRequestError) as info:
        Ollama.create_completion("m", HI)
    assert str(info.value) == (
        "Ollama: OLLAMA_HOST 'ftp://127.0.0.1:11434' must be http(s)://host[:port]/path"
    )


# API keys


def test_a_per_call_key_is_sent_as_a_bearer_token(emu: Emulator) -> None:
    emu.openai.api_key = KEY
    assert list(emu.provider(Custom).create_completion("m", HI, api_key=KEY)) == ["Hi"]
    assert emu.requests[0].headers["Authorization"] == f"Bearer {KEY}"


def test_a_class_key_and_an_environment_key_are_sent(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu.openai.api_key = KEY
    keyed = type("Keyed", (emu.provider(Custom),), {"api_key": KEY})
    assert list(keyed.create_completion("m", HI)) == ["Hi"]
    from_env = type("FromEnv", (emu.provider(Custom),), {"api_key_env": "EMULATOR_API_KEY"})
    monkeypatch.setenv("EMULATOR_API_KEY", KEY)
    assert list(from_env.create_completion("m", HI)) == ["Hi"]
    assert [r.headers["Authorization"] for r in emu.requests] == [f"Bearer {KEY}"] * 2


def test_a_per_call_key_wins_over_the_class_and_the_environment(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    attributes = {"api_key": "sk-class", "api_key_env": "EMULATOR_API_KEY"}
    both = type("Both", (emu.provider(Custom),), attributes)
    monkeypatch.setenv("EMULATOR_API_KEY", "sk-environment")
    list(both.create_completion("m", HI, api_key="sk-call"))
    list(both.create_completion("m", HI))
    list(type("EnvOnly", (both,), {"api_key": None}).create_completion("m", HI))
    assert [r.headers["Authorization"] for r in emu.requests] == [
        "Bearer sk-call",
        "Bearer sk-class",
        "Bearer sk-environment",
    ]


HOSTED = [p for p in PRESETS if p.needs_auth]


@pytest.mark.parametrize("hosted", HOSTED, ids=lambda p: p.__name__)
def test_a_hosted_preset_without_a_key_names_its_variable_before_any_io(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, hosted: Any
) -> None:
    monkeypatch.delenv(hosted.api_key_env, raising=False)
    provider = emu.provider(hosted)
    message = f"{hosted.__name__} needs an API key: set {hosted.api_key_env} or pass api_key=..."
    for call in (
        lambda: provider.create_completion("m", HI),
        lambda: provider.create_chunks("m", HI, False),
        lambda: provider.list_models(),
    ):
        with pytest.raises(errors.MissingAuthError) as info:
            call()
        assert str(info.value) == message
        assert info.value.env_var == hosted.api_key_env
    assert emu.requests == []
    monkeypatch.setenv(hosted.api_key_env, KEY)
    assert list(provider.create_completion("m", HI)) == ["Hi"]
    assert emu.requests[0].headers["Authorization"] == f"Bearer {KEY}"


def test_a_wrong_key_is_an_authentication_error_that_never_shows_it(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    emu.openai.api_key = KEY
    wrong = "sk-proj-wrong0123456789abcd"
    custom = emu.provider(Custom)
    with (
        caplog.at_level(logging.DEBUG, logger="g4f_sync"),
        pytest.raises(errors.AuthenticationError) as info,
    ):
        list(custom.create_completion("m", HI, api_key=wrong))
    error = info.value
    masked = "sk-" + "*" * (len(wrong) - 7) + "abcd"
    assert str(error) == (
        f"Custom: HTTP 401 Unauthorized from POST {emu.url}/v1/chat/completions: Incorrect API"
        f" key provided: {masked}. You can find your API key at"
        " https://platform.openai.com/account/api-keys."
    )
    assert (error.status_code, error.code, error.type) == (
        401,
        "invalid_api_key",
        "invalid_request_error",
    )
    assert_hidden(wrong, error, caplog)
    with pytest.raises(errors.AuthenticationError) as info:
        list(custom.create_completion("m", HI))
    assert info.value.server_message.startswith("You didn't provide an API key.")


def test_a_key_the_server_echoes_is_masked_everywhere(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    """The not_found fault quotes the model; named like the key, the key comes back."""
    emu.openai.api_key = KEY
    custom = emu.provider(Custom, fault="not_found")
    with caplog.at_level(logging.DEBUG, logger="g4f_sync"):
        for stream in (True, False):
            with pytest.raises(errors.NotFoundError) as info:
                list(custom.create_chunks(KEY, HI, stream, api_key=KEY))
            assert info.value.server_message == (
                "The model `***` does not exist or you do not have access to it."
            )
            assert_hidden(KEY, info.value, caplog)
    assert KEY in emu.requests[0].body.decode()  # it was sent: the masking is ours


def assert_hidden(key: str, error: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    """``key`` is nowhere in ``error`` (text, repr, arguments, attributes) or the logs."""
    shown = [str(error), repr(error), *map(str, error.args), *map(repr, vars(error).values())]
    assert not [text for text in shown if key in text]
    assert caplog.records and key not in caplog.text


# The model list


def test_an_empty_model_is_the_first_the_server_lists(emu: Emulator) -> None:
    custom = emu.provider(Custom, models=["first-model", "second-model"])
    assert list(custom.create_completion("", HI)) == ["Hi"]
    assert list(custom.create_completion(None, HI)) == ["Hi"]  # type: ignore[arg-type]
    assert paths(emu) == [MODELS, CHAT, CHAT]  # the list was asked for once
    assert [r.json()["model"] for r in emu.requests[1:]] == ["first-model"] * 2
    assert Custom.get_model("") == ""


def test_an_empty_model_with_an_empty_list_is_not_found(emu: Emulator) -> None:
    custom = emu.provider(Custom, models=[])
    with pytest.raises(errors.NotFoundError) as info:
        list(custom.create_completion("", HI))
    assert str(info.value) == f"Custom: {emu.url}/v1/models lists no model: pass model=..."
    assert info.value.status_code == 404
    assert paths(emu) == [MODELS]


def test_the_model_list_is_asked_with_the_calls_key_headers_and_query(emu: Emulator) -> None:
    emu.openai.api_key = KEY
    custom = emu.provider(Custom)
    tokens = custom.create_completion(
        "", HI, api_key=KEY, extra_headers={"X-Tenant": "t1"}, extra_query={"models": "mine"}
    )
    assert list(tokens) == ["Hi"]
    assert paths(emu) == [MODELS, CHAT]
    for request in emu.requests:
        assert request.headers["Authorization"] == f"Bearer {KEY}"
        assert request.headers["X-Tenant"] == "t1"
        assert request.query == {"models": "mine"}
    assert sent(emu)["model"] == "mine"


def test_list_models_reads_the_servers_list(emu: Emulator) -> None:
    models = emu.provider(Custom, models=["a", "b"]).list_models()
    assert [(m.id, m.created, m.owned_by, m.object) for m in models] == [
        ("a", 1700000000, "emulator", "model"),
        ("b", 1700000000, "emulator", "model"),
    ]
    assert models.to_dict() == {
        "data": [
            {"id": "a", "created": 1700000000, "object": "model", "owned_by": "emulator"},
            {"id": "b", "created": 1700000000, "object": "model", "owned_by": "emulator"},
        ],
        "object": "list",
    }
    assert len(models) == 2 and emu.requests[0].headers["Accept"] == "application/json"


def test_list_models_is_reused_per_base_url_until_refreshed(make_emulator: Any) -> None:
    first, second = make_emulator(), make_emulator()
    custom = first.provider(Custom)
    assert [m.id for m in custom.list_models()] == ["emulated-gpt", "emulated-mini"]
    first.openai.models = ["changed"]
    assert [m.id for m in custom.list_models()] == ["emulated-gpt", "emulated-mini"]
    assert first.request_count == 1  # the second call sent nothing
    assert [m.id for m in custom.list_models(refresh=True)] == ["changed"]
    assert first.request_count == 2
    assert [m.id for m in custom.list_models()] == ["changed"]
    assert first.request_count == 2
    second.openai.models = ["elsewhere"]
    assert [m.id for m in custom.list_models(base_url=second.url)] == ["elsewhere"]
    assert (first.request_count, second.request_count) == (2, 1)


def test_list_models_is_reused_per_query_and_key(emu: Emulator) -> None:
    """Another query (another URL) or another key may list other models: not reused."""
    assert [m.id for m in emu.provider(Custom, models="a,b").list_models()] == ["a", "b"]
    assert [m.id for m in emu.provider(Custom, models="c").list_models()] == ["c"]
    assert [m.id for m in emu.provider(Custom, models="c").list_models(api_key="k")] == ["c"]
    assert emu.request_count == 3


def test_list_models_keeps_a_bounded_number_of_lists(emu: Emulator) -> None:
    custom = emu.provider(Custom)
    for number in range(MODELS_CACHE_SIZE + 1):
        assert [m.id for m in custom.list_models(extra_query={"models": f"m{number}"})] == [
            f"m{number}"
        ]
    custom.list_models(extra_query={"models": f"m{MODELS_CACHE_SIZE}"})  # the newest: kept
    assert emu.request_count == MODELS_CACHE_SIZE + 1
    custom.list_models(extra_query={"models": "m0"})  # the oldest: gone, asked again
    assert emu.request_count == MODELS_CACHE_SIZE + 2


def test_list_models_checks_its_arguments_before_any_io(emu: Emulator) -> None:
    custom = emu.provider(Custom)
    for options, message in (
        ({"extra_headers": {"X": 1}}, "extra_headers must be a mapping of strings to strings"),
        ({"extra_query": "models=a"}, "extra_query must be a mapping of strings to strings"),
        ({"api_key": 5}, "api_key must be a non-empty string, got int"),
        ({"base_url": "gpu-box"}, "base_url must be an http(s) URL, got 'gpu-box'"),
    ):
        with pytest.raises(errors.InvalidRequestError) as info:
            custom.list_models(**options)
        assert str(info.value).startswith(f"Custom: {message}")
    assert emu.requests == []


def test_list_models_errors_name_the_provider_and_hide_the_key(emu: Emulator) -> None:
    emu.openai.api_key = KEY
    wrong = "sk-proj-wrong0123456789abcd"
    with pytest.raises(errors.AuthenticationError) as info:
        emu.provider(Custom).list_models(api_key=wrong)
    assert str(info.value).startswith(f"Custom: HTTP 401 Unauthorized from GET {emu.url}/v1/models")
    assert wrong not in repr(info.value)


# Presets


@pytest.mark.parametrize("chosen", PRESETS, ids=lambda p: p.__name__)
def test_every_preset_answers_from_the_emulator(emu: Emulator, chosen: Any) -> None:
    provider = emu.provider(chosen)
    assert provider.__name__ == chosen.__name__ and issubclass(provider, chosen)
    assert provider.base_url == emu.url + "/v1"
    tokens = provider.create_completion("m", HI, api_key=KEY if chosen.needs_auth else None)
    assert list(tokens) == ["Hi"]
    assert paths(emu) == [CHAT]
    with pytest.raises(errors.NotFoundError) as info:
        list(emu.provider(chosen, fault="not_found").create_completion("m", HI, api_key=KEY))
    assert info.value.provider == chosen.__name__


PRESET_TABLE = {
    "Custom": ("http://localhost:8080/v1", ""),
    "Ollama": ("http://localhost:11434/v1", ""),
    "LlamaCpp": ("http://localhost:8080/v1", ""),
    "LMStudio": ("http://localhost:1234/v1", ""),
    "VLLM": ("http://localhost:8000/v1", ""),
    "G4FApi": ("http://localhost:1337/v1", ""),
    "OpenaiAPI": ("https://api.openai.com/v1", "OPENAI_API_KEY"),
    "OpenRouter": ("https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
    "Groq": ("https://api.groq.com/openai/v1", "GROQ_API_KEY"),
    "DeepInfra": ("https://api.deepinfra.com/v1/openai", "DEEPINFRA_API_KEY"),
}
"""Each preset's base URL and key variable, as the services document them."""


def test_the_presets_are_the_documented_services() -> None:
    assert [p.__name__ for p in PRESETS] == list(PRESET_TABLE)


@pytest.mark.parametrize("chosen", PRESETS, ids=lambda p: p.__name__)
def test_every_preset_is_an_openai_template_with_its_own_base_url(
    chosen: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    base_url, env = PRESET_TABLE[chosen.__name__]
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    assert issubclass(chosen, OpenaiTemplate) and chosen.working and not chosen.auto_select
    assert (chosen.base_url, chosen.url, chosen.resolve_base_url()) == (base_url,) * 3
    assert (chosen.api_key_env, chosen.needs_auth) == (env, bool(env))
    mirror = chosen.rebased("http://127.0.0.1:9")  # a mirror keeps the service's path
    assert mirror.base_url == "http://127.0.0.1:9" + urlsplit(base_url).path
    assert mirror.__name__ == chosen.__name__


def test_a_preset_made_with_preset_is_named_and_documented() -> None:
    made = preset("MyServer", "http://gpu-box:8000/v1", "my vLLM box", needs_auth=True)
    assert (made.__name__, made.label, made.base_url, made.needs_auth) == (
        "MyServer",
        "my vLLM box",
        "http://gpu-box:8000/v1",
        True,
    )
    assert made.__doc__ == "my vLLM box (``http://gpu-box:8000/v1``); see :class:`OpenaiTemplate`."
    with pytest.raises(errors.MissingAuthError) as info:
        made.create_completion("m", HI)
    assert str(info.value) == "MyServer needs an API key: pass api_key=..."
