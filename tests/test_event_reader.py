"""g4f_sync.chat.chunks.EventReader: the OpenAI-compatible providers' reader of streamed
events reads every event as ``read_chunk(json.loads(data))`` does, taking its fast path
(no JSON parse) only where that is provably the same."""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import HI_THERE

from g4f_sync import Client, errors
from g4f_sync.chat import chunks
from g4f_sync.chat.chunks import EventReader, read_chunk, text_only
from g4f_sync.emulator import Emulator
from g4f_sync.Provider import Custom
from g4f_sync.Provider.base import text_of

HEAD = {
    "id": "chatcmpl-1",
    "object": "chat.completion.chunk",
    "created": 1700000000,
    "model": "m",
    "system_fingerprint": "fp",
}


def event(
    delta: Dict[str, Any],
    index: int = 0,
    finish: Optional[str] = None,
    separators: Any = (",", ":"),
    ensure_ascii: bool = False,
    **head: Any,
) -> str:
    choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}
    chunk = {**HEAD, **head, "choices": [choice]}
    return json.dumps(chunk, separators=separators, ensure_ascii=ensure_ascii)


def expected(data: str) -> Any:
    """What the full path makes of ``data``: the chunk's dump, or the error's message."""
    try:
        return read_chunk(json.loads(data), "P").to_dict()
    except ValueError:
        return "not JSON"
    except errors.G4FError as exc:
        return str(exc)


def read_all(datas: List[str]) -> List[Any]:
    reader = EventReader("P")
    out = []
    for data in datas:
        try:
            out.append(reader.chunk(data).to_dict())
        except errors.ResponseError as exc:
            out.append("not JSON" if "it is not JSON" in str(exc) else str(exc))
        except errors.G4FError as exc:
            out.append(str(exc))
    return out


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> List[str]:
    """The data of every event the readers parse in full."""
    seen: List[str] = []
    real = chunks.decode_json

    def counting(text: str) -> Any:
        seen.append(text)
        return real(text)

    monkeypatch.setattr(chunks, "decode_json", counting)
    return seen


def test_content_events_after_the_first_are_read_without_parsing_them(parses: List[str]) -> None:
    role = event({"role": "assistant", "content": ""})
    tokens = [event({"content": f"tok{i} "}) for i in range(5)]
    finish = event({}, finish="stop")
    datas = [role, *tokens, finish]
    assert read_all(datas) == [expected(d) for d in datas]
    assert parses == [role, tokens[0], finish]
    texts = [EventReader("P").text(d) for d in datas]
    assert texts == [text_of(read_chunk(json.loads(d), "P")) for d in datas]


def outcome(read: Callable[[str], str], data: str) -> str:
    """What reading ``data`` gives: its text, or the error's message."""
    try:
        return read(data)
    except errors.ResponseError as error:
        return f"error: {error}"


def test_text_refuses_another_choice_read_in_full_or_from_the_template() -> None:
    reader = EventReader("P")
    for t in "ab":  # the first is read in full and becomes the template; the next matches it
        with pytest.raises(errors.ResponseError) as info:
            reader.text(event({"content": t}, index=1))
        assert str(info.value) == (
            "the server answered with choice 1, which text tokens cannot carry;"
            " use g4f_sync.Client().chat.completions.create"
        )
    assert [reader.text(event({"content": t})) for t in "abc"] == ["a", "b", "c"]


@pytest.mark.parametrize(
    "content",
    [
        'a "quoted" \\ back',
        "é ✓ 😀",
        "\x00\x1b[0m\r\n\u2028",
        "",
        '"content":"x"',
        "\x01",
    ],
)
def test_any_content_string_reads_as_json_loads_reads_it(content: str) -> None:
    for ensure_ascii in (False, True):
        datas = [event({"content": "first"}, ensure_ascii=ensure_ascii)]
        datas.append(event({"content": content}, ensure_ascii=ensure_ascii))
        assert read_all(datas) == [expected(d) for d in datas]


def test_a_string_json_loads_refuses_is_refused_the_same_way() -> None:
    good = event({"content": "a"})
    prefix, suffix = good.split('"a"')
    datas = [good, prefix + '"\x01raw control"' + suffix, prefix + '"bad \\x escape"' + suffix]
    out = read_all(datas)
    assert out[1:] == ["not JSON", "not JSON"]
    with pytest.raises(errors.ResponseError, match=r"cannot read the event .*: it is not JSON"):
        EventReader("P").chunk(datas[1])


def test_a_later_content_key_that_overrides_is_respected() -> None:
    datas = [
        '{"choices":[{"index":0,"delta":{"content":"' + t + '","content":"last"}}]}'
        for t in ("last", "b")
    ]
    assert read_all(datas) == [expected(d) for d in datas]
    reader = EventReader("P")
    assert [reader.text(d) for d in datas] == ["last", "last"]


def test_another_content_key_is_no_place_for_the_template(parses: List[str]) -> None:
    datas = [event({"content": t}, meta={"content": "x"}) for t in ("x", "y", "z")]
    assert read_all(datas) == [expected(d) for d in datas]
    assert len(parses) == 1  # the probe moved meta.content, not the delta's: passed over


def test_whitespace_and_key_order_are_the_servers_own() -> None:
    for separators in ((", ", ": "), (",", ":")):
        datas = [event({"content": t}, separators=separators) for t in ("a", "b", "c")]
        assert read_all(datas) == [expected(d) for d in datas]
    spaced = [
        '{"choices" : [ { "delta" : { "content" :  "' + t + '" } , "index" : 0 } ] }' for t in "ab"
    ]
    assert read_all(spaced) == [expected(d) for d in spaced]


def test_other_events_are_read_in_full_and_keep_the_template(parses: List[str]) -> None:
    usage = json.dumps(
        {**HEAD, "choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 2}}
    )
    datas = [
        event({"content": "a"}),
        event({"reasoning_content": "r"}),
        event({"content": "b", "role": "assistant"}),
        event({"tool_calls": [{"index": 0, "function": {"arguments": "{"}}]}),
        event({"content": None}, finish="length"),
        usage,
        '{"error": {"message": "boom"}}',
        "[1, 2]",
        event({"content": "d"}),
    ]
    assert read_all(datas) == [expected(d) for d in datas]
    assert len(parses) == len(datas) - 1  # only the last matched the first's template


def test_logprobs_differ_in_every_event_and_are_read_in_full() -> None:
    datas = [
        json.dumps(
            {**HEAD, "choices": [{"index": 0, "delta": {"content": t}, "logprobs": {"k": t}}]}
        )
        for t in "abc"
    ]
    assert read_all(datas) == [expected(d) for d in datas]


def test_a_server_whose_every_chunk_differs_stops_getting_templates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: List[str] = []
    real = chunks._template_of
    monkeypatch.setattr(chunks, "_template_of", lambda *a: made.append(a[0]) or real(*a))
    datas = [event({"content": f"t{i}"}, id=f"chatcmpl-{i}") for i in range(10)]
    assert read_all(datas) == [expected(d) for d in datas]
    assert len(made) == 3  # the first, then two that never matched: no more
    interleaved = [event({"content": f"t{i}"}, index=i % 2) for i in range(10)]
    made.clear()
    assert read_all(interleaved) == [expected(d) for d in interleaved]
    assert len(made) == 3


def test_a_template_that_matched_makes_room_for_the_next() -> None:
    datas = [event({"content": f"t{i}"}, created=1700000000 + i // 3) for i in range(12)]
    reader = EventReader("P")
    assert [reader.chunk(d).to_dict() for d in datas] == [expected(d) for d in datas]
    assert reader._wasted == 0


TEXT = st.text(st.characters(codec="utf-8"), max_size=8)
DELTA = st.one_of(
    st.fixed_dictionaries({"content": TEXT}),
    st.fixed_dictionaries({"content": TEXT, "role": st.sampled_from(["assistant", None])}),
    st.fixed_dictionaries({"content": st.none()}),
    st.fixed_dictionaries({"reasoning_content": TEXT}),
    st.just({}),
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            DELTA,
            st.sampled_from([0, 0, 0, 1]),
            st.sampled_from([None, None, "stop"]),
            st.sampled_from(["chatcmpl-1", "chatcmpl-1", "chatcmpl-2"]),
            st.booleans(),
        ),
        max_size=12,
    )
)
def test_any_stream_reads_as_the_full_path_reads_it(stream: List[Any]) -> None:
    datas = [
        event(delta, index, finish, ensure_ascii=ascii, id=id)
        for delta, index, finish, id, ascii in stream
    ]
    assert read_all(datas) == [expected(d) for d in datas]
    reader = EventReader("P")
    texts = [outcome(reader.text, d) for d in datas]
    assert texts == [outcome(lambda d: text_only(read_chunk(json.loads(d), "P")), d) for d in datas]


# Against the emulator: the provider and the Client


@pytest.mark.parametrize("query", [{}, {"role_chunk": "false", "empty_deltas": "true"}])
def test_the_provider_and_the_client_read_the_emulators_stream(
    emu: Emulator, query: Dict[str, str]
) -> None:
    provider = emu.provider(Custom, count=50, **query)
    tokens = list(provider.create_completion("m", HI_THERE))
    assert tokens == [f"tok{i} " for i in range(50)]
    stream = Client(provider).chat.completions.create(HI_THERE, "m", stream=True)
    pieces = [chunk.choices[0].delta.content for chunk in stream]
    assert "".join(p or "" for p in pieces) == "".join(tokens)
    assert pieces[-1] is None


@pytest.mark.parametrize("options", [{}, {"n": 2, "logprobs": True}])
def test_the_clients_chunks_are_the_full_paths(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, options: Dict[str, Any]
) -> None:
    create = Client(emu.provider(Custom, count=20)).chat.completions.create
    fast = [c.to_dict() for c in create(HI_THERE, "m", stream=True, **options)]
    monkeypatch.setattr(chunks, "_template_of", lambda *a: None)  # never a fast path
    full = [c.to_dict() for c in create(HI_THERE, "m", stream=True, **options)]
    for chunk in fast + full:
        chunk["id"] = chunk["created"] = None  # a new answer each
    assert fast == full
    assert len(fast) == (45 if options else 22)  # role, tokens, finish; choice 1: one more token
