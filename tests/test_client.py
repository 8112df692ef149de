"""g4f_sync.Client: openai-shaped objects, stop sequences, max_tokens, provider choice,
against the emulator."""

from __future__ import annotations

import json
from itertools import product
from typing import Iterator, List, Optional

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from support import HI_THERE, TIMEOUT, MakeEmulator, known_providers

import g4f_sync.Provider
from g4f_sync import Client, errors
from g4f_sync.client import ChatCompletionChunk, ChatCompletionStream
from g4f_sync.client.text import TextState as _State
from g4f_sync.client.text import cut as _cut
from g4f_sync.emulator import Emulator, KoalaOptions
from g4f_sync.Provider import ChatGptt, Koala


@pytest.fixture
def emu(make_emulator: MakeEmulator) -> Emulator:
    """Koala answers "Hello, world!" in four tokens."""
    return make_emulator(koala=KoalaOptions(tokens=["Hello", ", ", "world", "!"]))


def koala(emu: Emulator, **query: object) -> type:
    return emu.provider(Koala, **query)


def contents(chunks: List[ChatCompletionChunk]) -> List[Optional[str]]:
    return [chunk.choices[0].delta.content for chunk in chunks]


# Non-streaming


def test_completion_reads_like_openai(emu: Emulator) -> None:
    resp = Client(koala(emu)).chat.completions.create(HI_THERE, "")
    assert resp.object == "chat.completion"
    assert resp.id.startswith("chatcmpl-") and len(resp.id) > 20
    assert isinstance(resp.created, int)
    assert resp.model == "gpt-4o-mini"  # the provider's default
    assert resp.provider == "Koala"
    assert resp.choices[0].message.role == "assistant"
    assert resp.choices[0].message.content == "Hello, world!"
    assert resp.choices[0].finish_reason == "stop"
    usage = resp.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (2, 4, 6)


def test_model_dump_is_plain_data_shaped_like_openai(emu: Emulator) -> None:
    resp = Client(koala(emu)).chat.completions.create(model="", messages=HI_THERE)
    dump = resp.model_dump()
    assert dump == {
        "id": resp.id,
        "object": "chat.completion",
        "created": resp.created,
        "model": "gpt-4o-mini",
        "provider": "Koala",
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Hello, world!",
                    "refusal": None,
                    "tool_calls": None,
                    "reasoning_content": None,
                },
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": 2,
            "completion_tokens": 4,
            "total_tokens": 6,
            "prompt_tokens_details": None,
            "completion_tokens_details": None,
        },
    }
    assert resp.to_dict() == dump
    assert json.loads(resp.model_dump_json()) == dump == json.loads(resp.to_json(indent=2))
    assert repr(resp).startswith("ChatCompletion(id='chatcmpl-")
    assert "content='Hello, world!'" in repr(resp)


def test_call_options_reach_the_provider(emu: Emulator) -> None:
    client = Client(koala(emu), timeout=(5, 5), max_retries=0)
    resp = client.chat.completions.create(model="gpt-4o-mini", messages=HI_THERE, timeout=TIMEOUT)
    assert resp.choices[0].message.content == "Hello, world!"
    assert json.loads(emu.requests[0].body)["model"] == "gpt-4o-mini"


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (
            {"max_token": 1},
            "Koala does not take the option 'max_token'; did you mean 'max_tokens'?",
        ),
        ({"timout": 1}, "Koala does not take the option 'timout'; did you mean 'timeout'?"),
        (
            {"temperature": 0.2},
            "Koala does not take the option 'temperature'; it takes: ignore_working,"
            " max_retries, max_tokens, n, provider, proxy, session, stop, stream, timeout",
        ),
    ],
)
def test_an_option_the_provider_does_not_take_is_refused_before_any_request(
    emu: Emulator, option: dict, message: str
) -> None:
    with pytest.raises(errors.InvalidRequestError) as info:
        Client(koala(emu)).chat.completions.create(HI_THERE, "", **option)
    assert str(info.value) == message
    assert emu.requests == []


def test_chatgptt_answers_through_the_same_client(emu: Emulator) -> None:
    client = Client()
    resp = client.chat.completions.create(HI_THERE, "gpt-4", provider=emu.provider(ChatGptt))
    assert (resp.provider, resp.model) == ("ChatGptt", "gpt-4")
    assert resp.choices[0].message.content == "Hi there"


def test_an_error_carries_the_partial_answer(emu: Emulator) -> None:
    with pytest.raises(
        errors.StreamInterruptedError, match="Koala: the connection was lost"
    ) as info:
        Client(koala(emu, fault="drop", drop_after=2)).chat.completions.create(HI_THERE, "")
    assert info.value.partial == "Hello, "


# Streaming


def test_stream_chunks_read_like_openai(emu: Emulator) -> None:
    with Client(koala(emu)).chat.completions.create(HI_THERE, "", stream=True) as stream:
        assert isinstance(stream, ChatCompletionStream)
        chunks = list(stream)
    assert contents(chunks) == ["Hello", ", ", "world", "!", None]
    assert {chunk.object for chunk in chunks} == {"chat.completion.chunk"}
    assert len({chunk.id for chunk in chunks}) == 1
    assert {(chunk.model, chunk.provider) for chunk in chunks} == {("gpt-4o-mini", "Koala")}
    assert [chunk.choices[0].finish_reason for chunk in chunks] == [None] * 4 + ["stop"]
    assert chunks[0].model_dump() == {
        "id": chunks[0].id,
        "object": "chat.completion.chunk",
        "created": chunks[0].created,
        "model": "gpt-4o-mini",
        "provider": "Koala",
        "system_fingerprint": None,
        "usage": None,
        "choices": [
            {
                "index": 0,
                "delta": {
                    "role": "assistant",
                    "content": "Hello",
                    "refusal": None,
                    "tool_calls": None,
                    "reasoning_content": None,
                },
                "finish_reason": None,
                "logprobs": None,
            }
        ],
    }
    assert [chunk.choices[0].delta.role for chunk in chunks] == ["assistant"] + [None] * 4
    assert json.loads(chunks[-1].model_dump_json())["choices"][0]["delta"]["content"] is None


def test_closing_a_stream_closes_the_connection(emu: Emulator) -> None:
    emu.koala.gated = True
    stream = Client(koala(emu)).chat.completions.create(HI_THERE, "", stream=True, timeout=TIMEOUT)
    emu.gate.release()
    assert next(stream).choices[0].delta.content == "Hello"
    stream.close()
    assert emu.requests[0].disconnected.wait(TIMEOUT)
    assert list(stream) == []


def test_a_token_is_released_at_once_when_it_cannot_begin_a_stop(emu: Emulator) -> None:
    emu.koala.gated = True
    create = Client(koala(emu)).chat.completions.create
    with create(HI_THERE, "", stream=True, stop=["\n\n", "STOP"], timeout=TIMEOUT) as stream:
        emu.gate.release()  # one token only: the chunk must come before the next is sent
        assert next(stream).choices[0].delta.content == "Hello"
        emu.gate.release(3)
        assert contents(list(stream)) == [", ", "world", "!", None]


# Stop sequences and max_tokens


def test_stop_straddling_chunks_cuts_and_closes(emu: Emulator) -> None:
    emu.koala.gated = True
    create = Client(koala(emu, tokens=["a<", "/", "e", "nd>b", "c"])).chat.completions.create
    with create(HI_THERE, "", stream=True, stop="</end>", timeout=TIMEOUT) as stream:
        emu.gate.release(4)
        chunks = list(stream)
    assert contents(chunks) == ["a", None]
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert emu.requests[0].disconnected.wait(TIMEOUT)  # the 5th token was never sent


def test_held_text_that_is_no_stop_after_all_is_released(emu: Emulator) -> None:
    create = Client(koala(emu, tokens=["x S", "Tand", "y"])).chat.completions.create
    chunks = list(create(HI_THERE, "", stream=True, stop="STOP"))
    assert contents(chunks) == ["x ", "STand", "y", None]
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_held_text_is_released_when_the_answer_ends(emu: Emulator) -> None:
    create = Client(koala(emu, tokens=["one", " ST"])).chat.completions.create
    chunks = list(create(HI_THERE, "", stream=True, stop="STOP"))
    assert contents(chunks) == ["one", " ", "ST", None]


def test_earliest_of_several_stops_wins_without_streaming(emu: Emulator) -> None:
    create = Client(koala(emu, tokens=["Hello", " wor", "ld", " again"])).chat.completions.create
    resp = create(HI_THERE, "", stop=["again", "o w", "xyz"])
    assert resp.choices[0].message.content == "Hell"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage.completion_tokens == 2  # tokens read until the stop showed up


@pytest.mark.parametrize("tokens", [["Hello\n", "World"], ["Hello\nWorld"]])
def test_the_stop_completed_first_ends_the_answer_however_the_text_is_chunked(
    emu: Emulator, tokens: List[str]
) -> None:
    create = Client(koala(emu, tokens=tokens)).chat.completions.create
    resp = create(HI_THERE, "", stop=["\n", "Hello\nWorld"])
    assert (resp.choices[0].message.content, resp.choices[0].finish_reason) == ("Hello", "stop")
    chunks = list(create(HI_THERE, "", stream=True, stop=["\n", "Hello\nWorld"]))
    assert contents(chunks) == ["Hello", None]
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_of_stops_completed_at_the_same_point_the_longest_wins(emu: Emulator) -> None:
    create = Client(koala(emu, tokens=["one t", "wo"])).chat.completions.create
    chunks = list(create(HI_THERE, "", stream=True, stop=["wo", "two"]))
    assert contents(chunks) == ["one ", None]  # "t" was held: "two" could (and did) follow


def test_text_only_a_later_completed_stop_could_cut_is_released_at_once(emu: Emulator) -> None:
    emu.koala.gated = True
    create = Client(koala(emu, tokens=["ha", "bc"])).chat.completions.create
    with create(HI_THERE, "", stream=True, stop=["abc", "b"], timeout=TIMEOUT) as stream:
        emu.gate.release()  # "a" begins "abc", but "b" would end the answer before "abc" can
        assert next(stream).choices[0].delta.content == "ha"
        emu.gate.release()
        assert contents(list(stream)) == [None]


def test_max_tokens_ends_with_length(emu: Emulator) -> None:
    client = Client(koala(emu))
    resp = client.chat.completions.create(HI_THERE, "", max_tokens=2)
    assert resp.choices[0].message.content == "Hello, "
    assert resp.choices[0].finish_reason == "length"
    assert resp.usage.completion_tokens == 2
    chunks = list(client.chat.completions.create(HI_THERE, "", stream=True, max_tokens=3))
    assert contents(chunks) == ["Hello", ", ", "world", None]
    assert chunks[-1].choices[0].finish_reason == "length"


def test_max_tokens_releases_held_text(emu: Emulator) -> None:
    create = Client(koala(emu, tokens=["a S", "b"])).chat.completions.create
    resp = create(HI_THERE, "", max_tokens=1, stop="STOP")
    assert (resp.choices[0].message.content, resp.choices[0].finish_reason) == ("a S", "length")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"stop": ""}, "stop must be a non-empty string or a list of them, got ''"),
        (
            {"stop": ["ok", 3]},
            r"stop must be a non-empty string or a list of them, got \['ok', 3\]",
        ),
        ({"max_tokens": 0}, "max_tokens must be a positive integer, got 0"),
        ({"max_tokens": "5"}, "max_tokens must be a positive integer, got '5'"),
    ],
)
def test_bad_stop_or_max_tokens_is_refused_before_any_request(
    emu: Emulator, kwargs: dict, message: str
) -> None:
    with pytest.raises(errors.InvalidRequestError, match=message):
        Client(koala(emu)).chat.completions.create(HI_THERE, "", **kwargs)
    assert emu.requests == []


def stop_start(text: str, stops: List[str]) -> Optional[int]:
    """Where a generator that checks its text after each character stops: at the first end
    of a stop sequence, before the longest one ending there. None: it never stops."""
    for end in range(1, len(text) + 1):
        completed = [len(stop) for stop in stops if text.endswith(stop, 0, end)]
        if completed:
            return end - max(completed)
    return None


def released_before_each_request(tokens: List[str], stops: List[str]) -> Iterator[str]:
    """The text ``_cut`` must have released when it asks for each next token (and for the
    end): all of it up to the first position that some continuation would cut. A cut in
    ``seen`` is made by a stop ending at most ``longest - 1`` letters later, so trying every
    continuation of that length, in the stops' letters, finds them all."""
    letters = sorted(set("".join(stops)))
    longest = max(map(len, stops))
    seen = ""
    for token in [*tokens, ""]:
        continued = (seen + "".join(more) for more in product(letters, repeat=longest - 1))
        cuts = (stop_start(text, stops) for text in continued)
        yield seen[: min([len(seen), *(cut for cut in cuts if cut is not None)])]
        seen += token


@settings(max_examples=500, deadline=None)
@example(tokens=["b\n", "a"], stops=["\n", "b\na"], max_tokens=None)
@example(tokens=["b\na"], stops=["\n", "b\na"], max_tokens=None)
@example(tokens=["a", "b"], stops=["ab", "b"], max_tokens=None)
@example(tokens=["a", "b", "b\n"], stops=["ab\n", "b"], max_tokens=None)
@example(tokens=["a", "b", "b\n"], stops=["ab\n", "b\n"], max_tokens=2)
@given(
    tokens=st.lists(st.text("ab\n", max_size=4), max_size=8),
    stops=st.lists(st.text("ab\n", min_size=1, max_size=4), min_size=1, max_size=3),
    max_tokens=st.none() | st.integers(1, 9),
)
def test_cut_matches_a_whole_text_search_and_holds_back_only_what_a_stop_could_cut(
    tokens: List[str], stops: List[str], max_tokens: Optional[int]
) -> None:
    allowed = tokens[:max_tokens]
    needed = next(
        (n for n in range(len(allowed) + 1) if stop_start("".join(allowed[:n]), stops) is not None),
        None,
    )
    text = "".join(allowed)
    start = stop_start(text, stops)
    out: List[str] = []
    promised = released_before_each_request(tokens, stops)

    def source() -> Iterator[str]:
        for token in tokens:
            assert "".join(out) == next(promised)
            yield token
        assert "".join(out) == next(promised)

    state = _State(Koala, "")
    for piece in _cut(source(), stops, max_tokens, state):
        out.append(piece)
    assert "".join(out) == (text if start is None else text[:start])
    assert "" not in out
    if needed is not None:
        assert (state.finish_reason, state.count) == ("stop", needed)
    elif max_tokens is not None and len(tokens) >= max_tokens:
        assert (state.finish_reason, state.count) == ("length", max_tokens)
    else:
        assert (state.finish_reason, state.count) == ("stop", len(tokens))


# Choosing the provider


def test_provider_by_name_in_any_case() -> None:
    assert Client("koala").provider is Koala
    assert Client("CHATGPTT").provider is ChatGptt


def test_unknown_provider_name_lists_the_known_ones() -> None:
    with pytest.raises(errors.ProviderNotFoundError) as info:
        Client("Nope")
    assert str(info.value) == f"no provider named 'Nope'; known: {known_providers()}"


def test_not_working_provider_says_how_to_override(emu: Emulator) -> None:
    broken = type("Koala", (koala(emu),), {"working": False})
    create = Client(broken).chat.completions.create
    with pytest.raises(errors.ProviderNotWorkingError) as info:
        create(HI_THERE, "")
    assert str(info.value) == (
        "Koala is marked as not working (working = False): its public service is gone."
        " Pass ignore_working=True to call it anyway, or use a subclass with working = True"
        " pointed at a live host, e.g. Emulator().start().provider(Koala) from g4f_sync.emulator"
    )
    assert emu.requests == []
    assert create(HI_THERE, "", ignore_working=True).choices[0].message.content == "Hello, world!"


def test_seed_providers_are_not_working() -> None:
    with pytest.raises(errors.ProviderNotWorkingError, match=r"^ChatGptt is marked as not working"):
        Client().chat.completions.create(HI_THERE, "", provider="ChatGptt")


def test_no_provider_means_the_first_working_one_supporting_the_model(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    chatgptt = emu.provider(ChatGptt)
    monkeypatch.setattr(g4f_sync.Provider, "__providers__", [Koala, koala(emu), chatgptt])
    create = Client().chat.completions.create
    assert create(HI_THERE, "").provider == "Koala"  # the emulated one: the seed is not working
    resp = create(HI_THERE, "gpt-4")
    assert (resp.provider, resp.model) == ("ChatGptt", "gpt-4")
    with pytest.raises(errors.ProviderNotFoundError) as info:
        create(HI_THERE, "claude")
    assert str(info.value) == (
        "no working provider supports model 'claude'; considered: Koala (not working),"
        " Koala (does not support model 'claude'), ChatGptt (does not support model 'claude')."
        f"{REGISTER_HINT}"
    )


REGISTER_HINT = (
    " Pass provider=..., or register one, e.g. for Ollama on this machine (any"
    " OpenAI-compatible server: Custom.rebased(base_url); the emulator:"
    " emulator.provider(Koala)): import g4f_sync; g4f_sync.register(g4f_sync.Provider.Ollama)"
)


def test_no_working_provider_at_all_lists_what_was_considered() -> None:
    """Every provider open to choice is a seed whose public service is gone; the
    OpenAI-compatible presets are not chosen for you (each needs a server you run)."""
    with pytest.raises(errors.ProviderNotFoundError) as info:
        Client().chat.completions.create(HI_THERE, "")
    names = [p.__name__ for p in g4f_sync.Provider.__providers__ if p.auto_select]
    considered = ", ".join(f"{name} (not working)" for name in names)
    assert str(info.value) == (
        f"no working provider is available; considered: {considered}.{REGISTER_HINT}"
    )
    assert info.value.considered == [(name, "not working") for name in names]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"timeout": "soon"}, errors.InvalidRequestError, "timeout must be a number"),
        ({"proxy": "ftp://host:21"}, errors.InvalidProxyError, "scheme must be one of"),
        ({"max_retries": -1}, errors.InvalidRequestError, "max_retries must be a non-negative"),
    ],
)
def test_client_options_are_checked_at_once(kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        Client(**kwargs)
