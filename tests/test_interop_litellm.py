"""The OpenAI-compatible path against a real server nobody here wrote: LiteLLM's proxy
(1.106.12, pinned) on 127.0.0.1, answering from ``mock_response`` models.

Everything goes through the SDK's real code (Client, provider, ThreadedStream, run_batch,
the legacy API, the CLI) and a real socket; openai-python reads the same answers as a
cross-check. The proxy is installed on first use into a cached virtual environment
(``litellm_proxy.py``); if it cannot be installed or started, these tests fail: a missing
server is never a skip.
"""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import openai
import pytest
from litellm_proxy import (
    MASTER_KEY,
    MOCK_TEXT,
    MODELS,
    LiteLLMProxy,
    LiteLLMUnavailableError,
    ensure_litellm,
)
from support import ROOT

from g4f_sync import ChatCompletion, Client, ThreadedStream, errors, run_batch
from g4f_sync.chat import build_completion
from g4f_sync.Provider import Custom

HI = [{"role": "user", "content": "Hi"}]
PIECES = [MOCK_TEXT[start : start + 3] for start in range(0, len(MOCK_TEXT), 3)]
"""How LiteLLM's mock streams its text: three characters a chunk."""
TIMEOUT = 30.0
"""Generous: the proxy is a real server on two busy cores."""


@pytest.fixture(scope="module")
def proxy() -> Iterator[LiteLLMProxy]:
    with LiteLLMProxy(ensure_litellm()) as started:
        yield started


@pytest.fixture
def client(proxy: LiteLLMProxy) -> Client:
    return Client(base_url=proxy.base_url, api_key=MASTER_KEY, max_retries=0, timeout=TIMEOUT)


def texts_by_index(chunks: List[Any]) -> Dict[int, str]:
    texts: Dict[int, str] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            texts[choice.index] = texts.get(choice.index, "") + (choice.delta.content or "")
    return texts


def finish_by_index(chunks: List[Any]) -> Dict[int, Optional[str]]:
    finishes: Dict[int, Optional[str]] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            finishes[choice.index] = choice.finish_reason or finishes.get(choice.index)
    return finishes


def test_models_list_names_the_configured_models(client: Client) -> None:
    assert [model.id for model in client.models.list()] == MODELS


def test_an_answer_is_the_mock_text_with_its_usage(client: Client) -> None:
    answer = client.chat.completions.create(HI, "mock-gpt")

    assert answer.choices[0].message.content == MOCK_TEXT
    assert answer.choices[0].message.role == "assistant"
    assert answer.choices[0].finish_reason == "stop"
    assert answer.model == "mock-gpt"
    usage = answer.usage
    assert usage is not None and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_a_stream_arrives_in_the_servers_pieces(client: Client) -> None:
    chunks = list(client.chat.completions.create(HI, "mock-gpt", stream=True))

    contents = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert contents == PIECES
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(chunk.usage is None for chunk in chunks)
    assert build_completion(chunks).choices[0].message.content == MOCK_TEXT


def test_two_choices_answered_whole_and_streamed(client: Client) -> None:
    answer = client.chat.completions.create(HI, "mock-gpt", n=2)
    assert [(c.index, c.message.content) for c in answer.choices] == [
        (0, MOCK_TEXT),
        (1, MOCK_TEXT),
    ]

    chunks = list(client.chat.completions.create(HI, "mock-gpt", n=2, stream=True))
    assert texts_by_index(chunks) == {0: MOCK_TEXT, 1: MOCK_TEXT}
    # LiteLLM 1.106.12 ends only the first choice of a stream with a finish reason
    assert finish_by_index(chunks) == {0: "stop", 1: None}


def test_the_usage_chunk_comes_last_with_one_empty_choice(client: Client) -> None:
    chunks = list(
        client.chat.completions.create(
            HI, "mock-gpt", stream=True, stream_options={"include_usage": True}
        )
    )

    *text_chunks, last = chunks
    assert all(chunk.usage is None for chunk in text_chunks)
    assert last.usage is not None and last.usage.completion_tokens > 0
    assert last.usage.total_tokens == last.usage.prompt_tokens + last.usage.completion_tokens
    # not ``choices: []`` as OpenAI sends it: one choice with an empty delta
    assert [(c.index, c.delta.content, c.finish_reason) for c in last.choices] == [(0, None, None)]
    assert texts_by_index(chunks) == {0: MOCK_TEXT}
    assert build_completion(chunks).usage == last.usage


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]
RICH_MESSAGES: List[Dict[str, Any]] = [
    {"role": "system", "content": "You are terse."},
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is the weather in this picture's city?"},
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
    {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
]
SURFACE: Dict[str, Any] = {
    "temperature": 0.2,
    "top_p": 0.9,
    "seed": 7,
    "stop": ["\n\n"],
    "max_tokens": 50,
    "presence_penalty": 0.1,
    "frequency_penalty": 0.1,
    "logit_bias": {"50256": -100},
    "user": "user-1",
    "tools": TOOLS,
    "tool_choice": "auto",
    "parallel_tool_calls": False,
    "response_format": {"type": "json_object"},
}


@pytest.mark.parametrize("stream", [False, True], ids=["answer", "stream"])
def test_the_request_surface_and_every_message_shape_are_accepted(
    client: Client, stream: bool
) -> None:
    options = {**SURFACE, "stream_options": {"include_usage": True}} if stream else SURFACE
    rich = client.chat.completions.create(RICH_MESSAGES, "mock-gpt", stream=stream, **options)
    answer = build_completion(list(rich)) if stream else rich
    assert answer.choices[0].message.content == MOCK_TEXT
    if stream:  # the mock counts a stream's tokens (a whole answer's usage is 10/20/30)
        plain = client.chat.completions.create(HI, "mock-gpt", stream=True, **options)
        plain_usage = build_completion(list(plain)).usage
        # the proxy counted the four messages, their parts and the tools it was sent
        assert answer.usage.prompt_tokens > plain_usage.prompt_tokens + 20


def test_the_other_options_are_accepted(client: Client) -> None:
    schema = {"name": "answer", "schema": {"type": "object"}}
    answer = client.chat.completions.create(
        HI,
        "mock-gpt",
        logprobs=True,
        top_logprobs=2,
        max_completion_tokens=20,
        reasoning_effort="low",
        response_format={"type": "json_schema", "json_schema": schema},
        extra_headers={"X-Interop": "1"},
        extra_query={"interop": "1"},
    )
    assert answer.choices[0].message.content == MOCK_TEXT
    assert answer.choices[0].logprobs is None  # the mock sends none


@pytest.mark.parametrize("stream", [False, True], ids=["answer", "stream"])
def test_a_rate_limit_is_a_rate_limit_error_with_the_servers_message(
    client: Client, stream: bool
) -> None:
    with pytest.raises(errors.RateLimitError) as caught:
        list_or_answer(client.chat.completions.create(HI, "mock-429", stream=stream))

    error = caught.value
    assert error.status_code == 429
    assert error.server_message.startswith("litellm.RateLimitError: this is a mock rate limit")
    assert (error.type, error.code) == ("throttling_error", "429")
    assert error.retry_after is None  # LiteLLM sends no Retry-After
    assert str(error).startswith(
        f"Custom: rate limited (HTTP 429) by POST {client.base_url}/chat/completions: litellm."
    )


def test_a_rate_limit_is_retried_as_max_retries_allows(client: Client) -> None:
    retrying = client.with_options(max_retries=1)
    with pytest.raises(errors.RateLimitError) as caught:
        retrying.chat.completions.create(HI, "mock-429")
    assert caught.value.attempts == 2
    assert "(after 2 attempts)" in str(caught.value)


@pytest.mark.parametrize("stream", [False, True], ids=["answer", "stream"])
def test_a_server_failure_is_an_internal_server_error(client: Client, stream: bool) -> None:
    with pytest.raises(errors.InternalServerError) as caught:
        list_or_answer(client.chat.completions.create(HI, "mock-500", stream=stream))

    assert caught.value.status_code == 500
    assert "this is a mock internal server error" in caught.value.server_message
    assert (caught.value.type, caught.value.code) == ("internal_server_error", "500")


def test_a_first_byte_later_than_the_timeout_is_a_timeout_error(client: Client) -> None:
    late = client.with_options(timeout=0.5)
    with pytest.raises(errors.TimeoutError) as caught:
        list(
            late.chat.completions.create(HI, "mock-gpt", stream=True, extra_body={"mock_delay": 3})
        )
    assert str(caught.value) == ("Custom: the server sent nothing within the read timeout of 0.5 s")
    assert (caught.value.timeout, caught.value.partial) == (0.5, "")


def test_a_first_byte_within_the_timeout_is_waited_for(client: Client) -> None:
    # The control of the test above: mock_delay holds the answer, and the timeout allows it.
    answer = client.chat.completions.create(HI, "mock-gpt", extra_body={"mock_delay": 0.6})
    assert answer.choices[0].message.content == MOCK_TEXT


def test_a_wrong_key_is_refused_and_never_shown(proxy: LiteLLMProxy) -> None:
    wrong_key = "sk-wrong-key-abcdef0123456789"
    client = Client(base_url=proxy.base_url, api_key=wrong_key, max_retries=0, timeout=TIMEOUT)
    with pytest.raises(errors.BadRequestError) as caught:
        client.chat.completions.create(HI, "mock-gpt")

    # Without a database LiteLLM cannot look a key up: 400, not 401
    assert caught.value.status_code == 400
    assert caught.value.server_message == "No connected db."
    assert wrong_key not in str(caught.value) + repr(caught.value)


def test_the_provider_streams_tokens_in_plain_threads(proxy: LiteLLMProxy) -> None:
    tokens = Custom.create_completion(
        "mock-gpt", HI, True, base_url=proxy.base_url, api_key=MASTER_KEY, timeout=TIMEOUT
    )
    with ThreadedStream(tokens) as stream:
        assert list(stream) == PIECES


def test_a_batch_of_16_calls_all_answer(client: Client) -> None:
    calls = [
        functools.partial(
            client.chat.completions.create, [{"role": "user", "content": f"Hi {n}"}], "mock-gpt"
        )
        for n in range(16)
    ]

    results = list(run_batch(calls, max_workers=8, progress=False))

    assert [r.index for r in results] == list(range(16))
    assert [r.error for r in results] == [None] * 16
    assert {r.value.choices[0].message.content for r in results} == {MOCK_TEXT}


def test_the_legacy_api_reaches_it_through_the_custom_preset(proxy: LiteLLMProxy) -> None:
    options = {"base_url": proxy.base_url, "api_key": MASTER_KEY, "timeout": TIMEOUT}
    assert ChatCompletion.create("mock-gpt", HI, provider=Custom, **options) == MOCK_TEXT
    streamed = ChatCompletion.create("mock-gpt", HI, provider="Custom", stream=True, **options)
    assert list(streamed) == PIECES


def test_the_cli_streams_an_answer_from_it(proxy: LiteLLMProxy) -> None:
    command = [sys.executable, "-m", "g4f_sync", "chat", "--base-url", proxy.base_url]
    command += ["--model", "mock-gpt", "--api-key", MASTER_KEY, "Hi"]
    done = subprocess.run(command, capture_output=True, timeout=60, cwd=ROOT)

    assert done.stderr == b""
    assert done.stdout.decode() == MOCK_TEXT + "\n"
    assert done.returncode == 0


def test_a_proxy_that_cannot_start_fails_the_tests_with_its_log(tmp_path: Path) -> None:
    command = tmp_path / "litellm"
    command.write_text("#!/bin/sh\necho 'ImportError: no module named fastapi' >&2\nexit 1\n")
    command.chmod(0o755)
    with pytest.raises(LiteLLMUnavailableError) as caught, LiteLLMProxy(command):
        pass
    assert str(caught.value) == (
        "LiteLLM's proxy did not start:\nImportError: no module named fastapi"
    )


# openai-python on the same requests


def openai_client(proxy: LiteLLMProxy) -> openai.OpenAI:
    return openai.OpenAI(base_url=proxy.base_url, api_key=MASTER_KEY, max_retries=0)


@pytest.mark.parametrize(
    "options",
    [{}, {"n": 2}, {"stream_options": {"include_usage": True}}],
    ids=["text", "n", "usage"],
)
def test_openai_python_reads_the_same_stream(
    proxy: LiteLLMProxy, client: Client, options: Dict[str, Any]
) -> None:
    theirs = list(
        openai_client(proxy).chat.completions.create(
            messages=HI, model="mock-gpt", stream=True, **options
        )
    )
    ours = list(client.chat.completions.create(HI, "mock-gpt", stream=True, **options))

    assert texts_by_index(ours) == texts_by_index(theirs)
    assert finish_by_index(ours) == finish_by_index(theirs)
    assert [usage_of(c) for c in ours] == [usage_of(c) for c in theirs]


def test_openai_python_reads_the_same_answer(proxy: LiteLLMProxy, client: Client) -> None:
    theirs = openai_client(proxy).chat.completions.create(messages=HI, model="mock-gpt", n=2)
    ours = client.chat.completions.create(HI, "mock-gpt", n=2)

    def view(answer: Any) -> List[Any]:
        choices = [(c.index, c.message.content, c.finish_reason) for c in answer.choices]
        return [choices, usage_of(answer)]

    assert view(ours) == view(theirs)


@pytest.mark.parametrize(
    ("model", "theirs", "ours"),
    [
        ("mock-429", openai.RateLimitError, errors.RateLimitError),
        ("mock-500", openai.InternalServerError, errors.InternalServerError),
    ],
)
def test_openai_python_fails_alike(
    proxy: LiteLLMProxy, client: Client, model: str, theirs: type, ours: type
) -> None:
    with pytest.raises(theirs) as their_error:
        openai_client(proxy).chat.completions.create(messages=HI, model=model)
    with pytest.raises(ours) as our_error:
        client.chat.completions.create(HI, model)

    assert type(our_error.value).__name__ == type(their_error.value).__name__
    assert our_error.value.status_code == their_error.value.status_code
    assert our_error.value.server_message == their_error.value.body["message"]


def usage_of(part: Any) -> Optional[tuple]:
    usage = part.usage
    if usage is None:
        return None
    return (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)


def list_or_answer(result: Any) -> Any:
    """A stream's chunks (read to the end), or the answer as it is."""
    return result if hasattr(result, "choices") else list(result)
