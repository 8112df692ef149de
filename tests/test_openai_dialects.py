"""Bytes captured from real servers (tests/fixtures/openai-dialects: ``g4f api`` 8.8.6
relaying to LiteLLM, and a LiteLLM 1.106.12 proxy), replayed through real HTTP by the
emulator's replay service to g4f_sync's Client and to openai-python (a test-only tool).

Strict about what matters: both read the same text per choice, finish reasons, usage and
tool calls, which are the values the captures hold, and fail on the error captures with
errors of the same name, status and message. Tolerant of the rest: each dialect's extra
keys (``provider``, ``reasoning: null``, ``tool_calls: null``, usage details) and
missing ones (LiteLLM sends no ``finish_reason`` key on most chunks).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import openai
import pytest
from support import TIMEOUT, MakeEmulator

from g4f_sync import Client, errors
from g4f_sync.chat import build_completion, read_completion, read_models
from g4f_sync.emulator import Emulator, Recording, ReplayOptions
from g4f_sync.Provider import Custom

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "openai-dialects"
G4F = FIXTURES / "g4f-api"
LITELLM = FIXTURES / "litellm"
HI = [{"role": "user", "content": "Hi"}]

G4F_TEXT = "Hello from the litellm proxy mock. Streams in three-character pieces."
LITELLM_TEXT = "Hello from the litellm proxy mock."


def capture(name: str) -> Recording:
    """A capture by its name: ``g4f-api/<what>`` or ``litellm/<file stem>``."""
    dialect, what = name.split("/")
    if dialect == "litellm":
        return Recording.load(LITELLM / f"{what}.http")
    if what == "stream":
        return Recording.load(G4F / "stream.headers", body=G4F / "stream.sse")
    if what == "nonstream":
        return Recording.load(G4F / "nonstream.json", status=200)
    if what == "429_nonstream":
        return Recording.load(G4F / "429_nonstream.txt")
    assert what == "429_stream"
    return Recording.load(G4F / "429_stream.body", status=429)  # see the fixtures' README


@dataclass(frozen=True)
class Answer:
    """What a capture says, as plain values: the text, finish reason and tool calls per
    choice index, and the usage (prompt, completion, total)."""

    texts: Dict[int, str]
    finish_reasons: Dict[int, Optional[str]]
    usage: Optional[Tuple[int, int, int]]
    tool_calls: Dict[int, List[Tuple[str, str, str]]]


def answer(
    text: str, finish_reasons: Dict[int, Optional[str]], usage: Optional[Tuple[int, int, int]]
) -> Answer:
    return Answer({i: text for i in finish_reasons}, finish_reasons, usage, {})


ANSWERS = {
    "g4f-api/stream": answer(G4F_TEXT, {0: "stop"}, (9, 15, 24)),
    "g4f-api/nonstream": answer(G4F_TEXT, {0: "stop"}, (10, 20, 30)),
    "litellm/stream_usage": answer(LITELLM_TEXT, {0: "stop"}, (8, 9, 17)),
    "litellm/stream_n2": answer(LITELLM_TEXT, {0: "stop", 1: None}, None),
    "litellm/nonstream": answer(LITELLM_TEXT, {0: "stop"}, (10, 20, 30)),
    "litellm/nonstream_n2": answer(LITELLM_TEXT, {0: "stop", 1: "stop"}, (10, 20, 30)),
}
"""Every capture of an answer, and what it says (read off the bytes by hand)."""


@dataclass(frozen=True)
class Failure:
    """What an error capture says: the status, openai-python's class name for it, and the
    error body's message, type and code (None for a body that is no JSON error)."""

    status: int
    error: str
    message: str
    type: Optional[str] = None
    code: Optional[str] = None


G4F_429 = Failure(429, "RateLimitError", "Request execution failed")
LITELLM_429 = Failure(
    429,
    "RateLimitError",
    "litellm.RateLimitError: this is a mock rate limit error\n\nLiteLLM: model group"
    " 'mock-429' failed with the error above. No fallback was attempted.",
    "throttling_error",
    "429",
)
FAILURES = {
    "g4f-api/429_nonstream": G4F_429,
    "g4f-api/429_stream": G4F_429,
    "litellm/429_nonstream": LITELLM_429,
    "litellm/429_stream": LITELLM_429,
    "litellm/500_stream": Failure(
        500,
        "InternalServerError",
        "litellm.InternalServerError: this is a mock internal server error\n\nLiteLLM: model"
        " group 'mock-500' failed with the error above. No fallback was attempted.",
        "internal_server_error",
        "500",
    ),
    "litellm/400_wrong_key": Failure(
        400, "BadRequestError", "No connected db.", "no_db_connection", "400"
    ),
    "litellm/no_key": Failure(500, "InternalServerError", ""),
}
"""Every error capture, and what it says."""


STREAMED = {
    "g4f-api/stream",
    "g4f-api/429_stream",
    "litellm/stream_usage",
    "litellm/stream_n2",
    "litellm/429_stream",
    "litellm/500_stream",
}
"""The captures of streamed requests: replayed to ``stream=True``; the others to
``stream=False`` (``400_wrong_key`` and ``no_key`` answered whole requests)."""


def replaying(make_emulator: MakeEmulator, name: str) -> Emulator:
    """An emulator answering with capture ``name`` the requests it answered."""
    recording = capture(name)
    if name in STREAMED:
        return make_emulator(replay=ReplayOptions(stream=recording))
    return make_emulator(replay=ReplayOptions(nonstream=recording))


def clients(emu: Emulator) -> Tuple[openai.OpenAI, Client]:
    base_url = emu.url + "/replay/v1"
    return (
        openai.OpenAI(base_url=base_url, api_key="sk-1234", max_retries=0, timeout=TIMEOUT),
        Client(base_url=base_url, api_key="sk-1234", max_retries=0, timeout=TIMEOUT),
    )


# Views of either side's objects, made of plain values


def calls_of(tool_calls: Any) -> List[Tuple[str, str, str]]:
    return [(c.id, c.function.name, c.function.arguments) for c in tool_calls or []]


def usage_of(usage: Any) -> Optional[Tuple[int, int, int]]:
    if usage is None:
        return None
    return (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)


def whole_view(completion: Any) -> Answer:
    choices = completion.choices
    return Answer(
        {c.index: c.message.content for c in choices},
        {c.index: c.finish_reason for c in choices},
        usage_of(completion.usage),
        {c.index: calls_of(c.message.tool_calls) for c in choices if c.message.tool_calls},
    )


def chunk_view(chunk: Any) -> List[Any]:
    """A chunk as it was read: per choice its index, role, content, finish reason and
    tool-call pieces, then the usage."""
    pieces: List[Any] = []
    for choice in chunk.choices:
        delta = choice.delta
        calls = [
            (c.index, c.id, c.function.name if c.function else None) for c in delta.tool_calls or []
        ]
        pieces.append((choice.index, delta.role, delta.content, choice.finish_reason, calls))
    return [*pieces, usage_of(chunk.usage)]


def stream_view(chunks: List[Any]) -> Answer:
    """The answer the chunks add up to: text joined per choice, its last finish reason,
    the last usage, tool-call pieces joined by index."""
    texts: Dict[int, str] = {}
    finish_reasons: Dict[int, Optional[str]] = {}
    calls: Dict[int, Dict[int, List[str]]] = {}
    usage = None
    for chunk in chunks:
        usage = usage_of(chunk.usage) or usage
        for choice in chunk.choices:
            texts[choice.index] = texts.get(choice.index, "") + (choice.delta.content or "")
            if choice.finish_reason is not None or choice.index not in finish_reasons:
                finish_reasons[choice.index] = choice.finish_reason
            for call in choice.delta.tool_calls or []:
                parts = calls.setdefault(choice.index, {}).setdefault(call.index, ["", "", ""])
                parts[0] += call.id or ""
                parts[1] += (call.function.name or "") if call.function else ""
                parts[2] += (call.function.arguments or "") if call.function else ""
    tool_calls = {i: [tuple(c) for _, c in sorted(by.items())] for i, by in calls.items()}
    return Answer(texts, finish_reasons, usage, tool_calls)  # type: ignore[arg-type]


def raised(call: Any, stream: bool) -> BaseException:
    """What ``call()`` raised (iterating its result, with ``stream``)."""
    try:
        result = call()
        if stream:
            list(result)
    except Exception as exc:
        return exc
    raise AssertionError("nothing was raised")


# Answers


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_both_clients_read_what_the_capture_says(make_emulator: MakeEmulator, name: str) -> None:
    emu = replaying(make_emulator, name)
    theirs, ours = clients(emu)
    stream = name in STREAMED
    expected = theirs.chat.completions.create(model="mock-gpt", messages=HI, stream=stream)
    received = ours.chat.completions.create(HI, "mock-gpt", stream=stream)
    if stream:
        their_chunks, our_chunks = list(expected), list(received)  # type: ignore[arg-type]
        assert [chunk_view(c) for c in our_chunks] == [chunk_view(c) for c in their_chunks]
        assert stream_view(our_chunks) == stream_view(their_chunks) == ANSWERS[name]
    else:
        assert whole_view(received) == whole_view(expected) == ANSWERS[name]
    assert emu.requests[0].json() == emu.requests[1].json()  # the same request to both
    assert emu.requests[0].json()["stream"] is stream


@pytest.mark.parametrize("name", sorted(n for n in ANSWERS if n in STREAMED))
def test_a_captured_stream_joined_is_the_answer(make_emulator: MakeEmulator, name: str) -> None:
    """build_completion reads every dialect's stream into the whole answer it makes:
    LiteLLM's usage chunk with its empty-delta choice adds no choice, and choice 1 of its
    n=2 stream keeps no finish reason, as none was sent."""
    _, ours = clients(replaying(make_emulator, name))
    joined = build_completion(ours.chat.completions.create(HI, "mock-gpt", stream=True))
    assert whole_view(joined) == ANSWERS[name]
    assert {c.message.role for c in joined.choices} == {"assistant"}


def test_g4f_chunks_keep_their_provider_and_extra_nulls_read_as_absent(
    make_emulator: MakeEmulator,
) -> None:
    _, ours = clients(replaying(make_emulator, "g4f-api/stream"))
    chunks = list(ours.chat.completions.create(HI, "mock-gpt", stream=True))
    assert {chunk.provider for chunk in chunks} == {"OmniRoute"}
    assert {c.delta.role for chunk in chunks for c in chunk.choices} == {"assistant"}
    assert [c.delta.tool_calls for chunk in chunks for c in chunk.choices] == [None] * 24
    assert [c.delta.reasoning_content for chunk in chunks for c in chunk.choices] == [None] * 24
    last = chunks[-1]
    assert (last.choices[0].delta.content, last.choices[0].finish_reason) == ("", "stop")
    assert last.usage is not None and last.usage.completion_tokens_details == {
        "reasoning_tokens": 0,
        "accepted_prediction_tokens": None,
        "rejected_prediction_tokens": None,
    }


def test_litellms_usage_chunk_has_an_empty_choice_that_adds_nothing(
    make_emulator: MakeEmulator,
) -> None:
    theirs, ours = clients(replaying(make_emulator, "litellm/stream_usage"))
    their_last = list(theirs.chat.completions.create(model="m", messages=HI, stream=True))[-1]
    our_last = list(ours.chat.completions.create(HI, "m", stream=True))[-1]
    for last in (their_last, our_last):
        assert [(c.index, c.delta.content, c.finish_reason) for c in last.choices] == [
            (0, None, None)
        ]
        assert usage_of(last.usage) == (8, 9, 17)
    assert our_last.usage.completion_tokens_details == {"reasoning_tokens": 0, "text_tokens": 9}  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("name", "text"), [("g4f-api/stream", G4F_TEXT), ("litellm/stream_usage", LITELLM_TEXT)]
)
def test_the_provider_streams_the_text_of_a_capture(
    make_emulator: MakeEmulator, name: str, text: str
) -> None:
    emu = replaying(make_emulator, name)
    provider = Custom.rebased(emu.url + "/replay/v1")
    tokens = list(provider.create_completion("mock-gpt", HI, stream=True))
    assert "".join(tokens) == text
    assert "" not in tokens and len(tokens) > 10  # the pieces as sent, empty deltas skipped


def test_the_provider_refuses_text_tokens_for_two_choices(make_emulator: MakeEmulator) -> None:
    emu = replaying(make_emulator, "litellm/stream_n2")
    provider = Custom.rebased(emu.url + "/replay/v1")
    with pytest.raises(errors.ResponseError) as info:
        list(provider.create_completion("mock-gpt", HI, stream=True))
    assert type(info.value) is errors.ResponseError
    assert str(info.value) == (
        "Custom: the server answered with choice 1, which text tokens cannot carry;"
        " use g4f_sync.Client().chat.completions.create"
    )


def test_the_models_capture_lists_the_same_models(make_emulator: MakeEmulator) -> None:
    emu = make_emulator(replay=ReplayOptions(models=capture("litellm/models")))
    theirs, ours = clients(emu)
    their_models = [m.model_dump(exclude_unset=True) for m in theirs.models.list()]
    assert [m.to_dict() for m in ours.models.list()] == their_models
    assert [m["id"] for m in their_models] == ["mock-gpt", "mock-429", "mock-500"]


def test_an_answer_of_another_kind_is_an_error_here_only(make_emulator: MakeEmulator) -> None:
    """The model list where a chat answer belongs: openai-python builds a ChatCompletion
    without choices; g4f_sync raises ResponseError, dropping nothing silently."""
    emu = make_emulator(replay=ReplayOptions(nonstream=capture("litellm/models")))
    theirs, ours = clients(emu)
    assert theirs.chat.completions.create(model="m", messages=HI).choices is None  # type: ignore[comparison-overlap]
    with pytest.raises(errors.ResponseError) as info:
        ours.chat.completions.create(HI, "m")
    assert type(info.value) is errors.ResponseError
    assert str(info.value).startswith('Custom: cannot read \'{"data": [{"id": "mock-gpt"')
    assert str(info.value).endswith("…': it has no 'choices'")


def test_a_missing_list_is_unreadable_and_a_null_one_empty() -> None:
    """null is a Go server's empty slice; no key at all, an answer of another kind."""
    assert read_completion({"choices": None}, "P").choices == []
    assert read_models({"data": None}).data == []
    for read, key in ((lambda data: read_completion(data, "P"), "choices"), (read_models, "data")):
        with pytest.raises(errors.ResponseError) as info:
            read({"object": "list"})
        assert str(info.value) == f"cannot read '{{\"object\": \"list\"}}': it has no '{key}'"


# Errors


@pytest.mark.parametrize("name", sorted(FAILURES))
def test_both_clients_fail_alike_on_an_error_capture(
    make_emulator: MakeEmulator, name: str
) -> None:
    emu = replaying(make_emulator, name)
    theirs, ours = clients(emu)
    stream = name in STREAMED
    failure = FAILURES[name]
    expected = raised(
        lambda: theirs.chat.completions.create(model="mock-429", messages=HI, stream=stream),
        stream,
    )
    error = raised(lambda: ours.chat.completions.create(HI, "mock-429", stream=stream), stream)
    assert isinstance(expected, openai.APIStatusError)
    assert isinstance(error, errors.ResponseStatusError)
    assert type(expected).__name__ == failure.error
    assert failure.error in [cls.__name__ for cls in type(error).__mro__]
    assert error.status_code == expected.status_code == failure.status
    assert (
        (error.type, error.code) == (expected.type, expected.code) == (failure.type, failure.code)
    )
    their_message = expected.body.get("message", "") if isinstance(expected.body, dict) else ""
    assert error.server_message == their_message == failure.message
    assert error.partial == "" and emu.request_count == 2  # max_retries=0: one request each


@pytest.mark.parametrize("name", ["g4f-api/429_nonstream", "g4f-api/429_stream"])
def test_g4fs_429_reads_as_its_message(make_emulator: MakeEmulator, name: str) -> None:
    """g4f's error body, ``{"error": {"message"}, "model", "provider"}``, has no type or
    code: its message is what the error says."""
    emu = replaying(make_emulator, name)
    _, ours = clients(emu)
    stream = name in STREAMED
    error = raised(lambda: ours.chat.completions.create(HI, "mock-429", stream=stream), stream)
    assert type(error) is errors.RateLimitError
    assert error.retry_after is None
    url = emu.url + "/replay/v1/chat/completions"
    assert str(error) == (
        f"Custom: rate limited (HTTP 429) by POST {url}: Request execution failed"
    )


def test_litellms_message_keeps_its_line_breaks_and_the_error_reads_on_one_line(
    make_emulator: MakeEmulator,
) -> None:
    emu = replaying(make_emulator, "litellm/429_nonstream")
    _, ours = clients(emu)
    error = raised(lambda: ours.chat.completions.create(HI, "mock-429"), False)
    assert isinstance(error, errors.RateLimitError)
    assert "\n\nLiteLLM: model group" in error.server_message
    url = emu.url + "/replay/v1/chat/completions"
    assert str(error) == (
        f"Custom: rate limited (HTTP 429) by POST {url}: litellm.RateLimitError: this is a"
        " mock rate limit error LiteLLM: model group 'mock-429' failed with the error above."
        " No fallback was attempted."
    )


def test_a_plain_text_500_says_what_its_body_says(make_emulator: MakeEmulator) -> None:
    emu = replaying(make_emulator, "litellm/no_key")
    theirs, ours = clients(emu)
    expected = raised(lambda: theirs.chat.completions.create(model="m", messages=HI), False)
    error = raised(lambda: ours.chat.completions.create(HI, "m"), False)
    assert isinstance(expected, openai.InternalServerError)
    assert isinstance(error, errors.InternalServerError)
    assert error.body == expected.body == "Internal Server Error"
    url = emu.url + "/replay/v1/chat/completions"
    assert str(error) == (
        f"Custom: HTTP 500 Internal Server Error from POST {url}: Internal Server Error"
    )
