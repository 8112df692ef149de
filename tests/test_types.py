"""The objects a user sees: the response types' ``model_dump``/``model_dump_json`` with
pydantic's keywords (checked against openai-python's own models on the same answers),
``g4f_sync.types``, ``help(g4f_sync.Client)`` and the streams' reprs.
"""

from __future__ import annotations

import json
import pydoc
import threading
from typing import Any, Dict, List, Tuple

import openai
import pytest
from openai.types import chat as openai_chat
from support import TIMEOUT

import g4f_sync
from g4f_sync import Client, errors
from g4f_sync.chat import types as chat_types
from g4f_sync.emulator import Emulator
from g4f_sync.Provider import Custom, Koala, RetryProvider

HI = [{"role": "user", "content": "one two three"}]
KEY = "sk-proj-types0123456789SECRET"
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
CALLS = 'get_weather:{"city":"Paris"};now:{}'


def clients(emu: Emulator) -> Tuple[openai.OpenAI, Client]:
    base_url = emu.url + "/v1"
    return (
        openai.OpenAI(base_url=base_url, api_key=KEY, max_retries=0, timeout=TIMEOUT),
        Client(base_url=base_url, api_key=KEY, max_retries=0, timeout=TIMEOUT),
    )


ANSWERS = [
    pytest.param({"tokens": "Hé,llo ,wörld 🙂"}, {}, id="text"),
    pytest.param(
        {"tool_calls": 'get_weather:{"city":"Paris"};now:{}'}, {"tools": TOOLS}, id="tools"
    ),
    pytest.param({"usage_shape": "openai"}, {"n": 2}, id="usage-details-n"),
    pytest.param({}, {"logprobs": True, "top_logprobs": 2}, id="logprobs"),
]

# Keyword sets whose result both sides define alike. Fields only one side has are left
# out by name (pydantic ignores names a model lacks) or, being None, by exclude_none.
DUMPS: List[Dict[str, Any]] = [
    {"exclude_none": True, "exclude": {"provider"}},
    {"exclude_defaults": True, "exclude_none": True, "exclude": {"provider"}},
    {"include": {"id", "model", "object", "created"}},
    {"include": {"choices": {"__all__": {"index", "finish_reason"}}, "usage": True}},
    {"include": {"choices": {-1: {"message": {"content", "role"}}}, "id": ...}},
    {"include": {"choices": {0}}, "exclude": {"choices": {0: {"message"}}}, "exclude_none": True},
    {
        "exclude": {
            "provider": True,
            "choices": {"__all__": {"logprobs"}, 0: {"message": {"tool_calls": {-1}}}},
        },
        "exclude_none": True,
    },
    {"include": {"usage": {"prompt_tokens_details": {"cached_tokens"}, "total_tokens": True}}},
    {"include": {"choices": {"__all__": {"logprobs": {"content": {0: {"token", "logprob"}}}}}}},
    {"include": set()},
]


def same_answer(ours: Any, theirs: Any) -> Any:
    """``ours`` with the ``id`` and ``created`` of ``theirs`` (the emulator makes new
    ones for each answer)."""
    ours.id, ours.created = theirs.id, theirs.created
    return ours


def answers(emu: Emulator, query: Dict[str, str], options: Dict[str, Any]) -> Tuple[Any, Any]:
    """openai-python's and g4f_sync's reading of the same answer."""
    theirs, ours = clients(emu)
    reference = theirs.chat.completions.create(model="m", messages=HI, extra_query=query, **options)
    answer = ours.chat.completions.create(HI, "m", extra_query=query, **options)
    return reference, same_answer(answer, reference)


@pytest.mark.parametrize(("query", "options"), ANSWERS)
def test_model_dump_selects_as_openai_pythons_models_do(
    emu: Emulator, query: Dict[str, str], options: Dict[str, Any]
) -> None:
    theirs, ours = answers(emu, query, options)
    for keywords in DUMPS:
        assert ours.model_dump(**keywords) == theirs.model_dump(**keywords), keywords


JSON_ANSWERS = ANSWERS[:-1]
"""Not logprobs: a plain dict here, its keys in the server's order, not openai-python's."""


@pytest.mark.parametrize(("query", "options"), JSON_ANSWERS)
def test_model_dump_json_writes_what_openai_python_writes(
    emu: Emulator, query: Dict[str, str], options: Dict[str, Any]
) -> None:
    theirs, ours = answers(emu, query, options)
    for layout in ({}, {"indent": 2}, {"indent": 0}, {"ensure_ascii": True, "indent": 4}):
        keywords = {"exclude_none": True, "exclude": {"provider"}, **layout}
        assert ours.model_dump_json(**keywords) == theirs.model_dump_json(**keywords), layout


def test_chunks_dump_as_openai_pythons_chunks(emu: Emulator) -> None:
    theirs, ours = clients(emu)
    query = {"tool_calls": CALLS}
    options = {"tools": TOOLS, "stream_options": {"include_usage": True}}
    their_chunks = list(
        theirs.chat.completions.create(
            model="m", messages=HI, stream=True, extra_query=query, **options
        )
    )
    stream = ours.chat.completions.create(HI, "m", stream=True, extra_query=query, **options)
    our_chunks = [same_answer(mine, reference) for mine, reference in zip(stream, their_chunks)]
    assert list(stream) == []
    assert len(our_chunks) == len(their_chunks) > 2
    for keywords in (
        {"exclude_none": True, "exclude": {"provider"}},
        {"exclude_defaults": True, "exclude": {"provider"}, "exclude_none": True},
        {"include": {"choices": {"__all__": {"delta": {"tool_calls": {"__all__": {"index"}}}}}}},
    ):
        for mine, reference in zip(our_chunks, their_chunks):
            assert mine.model_dump(**keywords) == reference.model_dump(**keywords), keywords


OPENAI_TYPES = [
    (chat_types.ChatCompletion, openai_chat.ChatCompletion),
    (chat_types.Choice, openai_chat.chat_completion.Choice),
    (chat_types.ChatCompletionMessage, openai_chat.ChatCompletionMessage),
    (chat_types.ChatCompletionMessageToolCall, openai_chat.ChatCompletionMessageFunctionToolCall),
    (chat_types.Function, openai_chat.chat_completion_message_function_tool_call.Function),
    (chat_types.CompletionUsage, openai.types.CompletionUsage),
    (chat_types.ChatCompletionChunk, openai_chat.ChatCompletionChunk),
    (chat_types.ChunkChoice, openai_chat.chat_completion_chunk.Choice),
    (chat_types.ChoiceDelta, openai_chat.chat_completion_chunk.ChoiceDelta),
    (chat_types.ChoiceDeltaToolCall, openai_chat.chat_completion_chunk.ChoiceDeltaToolCall),
    (
        chat_types.ChoiceDeltaToolCallFunction,
        openai_chat.chat_completion_chunk.ChoiceDeltaToolCallFunction,
    ),
    (chat_types.Model, openai.types.Model),
]
EXTENSIONS = {"provider", "reasoning_content"}
"""Fields g4f adds; optional (None when absent)."""


@pytest.mark.parametrize(("ours", "theirs"), OPENAI_TYPES, ids=lambda cls: cls.__name__)
def test_the_optional_fields_are_openai_pythons(ours: type, theirs: Any) -> None:
    """``exclude_defaults`` leaves out what openai-python gives a default, no more."""
    fields = set(ours._fields)  # type: ignore[attr-defined]
    optional = {name for name, field in theirs.model_fields.items() if not field.is_required()}
    assert ours._optional == (optional & fields) | (EXTENSIONS & fields)  # type: ignore[attr-defined]


def usage() -> chat_types.CompletionUsage:
    return chat_types.CompletionUsage(
        3, 5, prompt_tokens_details={"cached_tokens": None, "audio_tokens": 1}
    )


def completion(content: Any = "Hé") -> chat_types.ChatCompletion:
    message = chat_types.ChatCompletionMessage(content)
    choices = [chat_types.Choice(message, "stop"), chat_types.Choice(message, None, index=1)]
    return chat_types.ChatCompletion("id-1", 7, "m", "Koala", choices, usage())


def test_model_dump_without_keywords_is_to_dict() -> None:
    answer = completion()
    assert answer.model_dump() == answer.to_dict()
    assert answer.model_dump(mode="json", by_alias=True, round_trip=True, warnings="error") == (
        answer.to_dict()
    )
    assert json.loads(answer.model_dump_json()) == answer.to_dict()


def test_exclude_unset_leaves_out_what_exclude_defaults_does() -> None:
    answer = completion(None)
    dump = answer.model_dump(exclude_unset=True)
    assert dump == answer.model_dump(exclude_defaults=True)
    assert dump["choices"][1] == {  # finish_reason: required by openai, kept as None
        "finish_reason": None,
        "index": 1,
        "message": {"role": "assistant"},
    }
    assert "system_fingerprint" not in dump
    assert dump["usage"]["prompt_tokens_details"] == {"audio_tokens": 1}  # a None in a dict


def test_exclude_none_keeps_none_items_of_a_list_and_drops_none_in_dicts() -> None:
    chunk = chat_types.ChatCompletionChunk(
        "c", 1, "m", "Koala", [chat_types.ChunkChoice(chat_types.ChoiceDelta(None))]
    )
    assert chunk.model_dump(exclude_none=True) == {
        "id": "c",
        "choices": [{"delta": {}, "index": 0}],
        "created": 1,
        "model": "m",
        "object": "chat.completion.chunk",
        "provider": "Koala",
    }


def test_an_index_past_the_end_selects_nothing() -> None:
    """(pydantic 2.14 wraps it around: ``{5}`` of two choices gives the second.)"""
    assert completion().model_dump(include={"choices": {5}, "id": True}) == {
        "id": "id-1",
        "choices": [],
    }
    assert len(completion().model_dump(exclude={"choices": {-3, 2}})["choices"]) == 2


def test_include_false_means_the_whole_field_and_exclude_false_nothing_as_in_pydantic() -> None:
    answer = completion()
    assert answer.model_dump(include={"id": False}) == {"id": "id-1"}
    assert answer.model_dump(exclude={"id": False}) == answer.to_dict()


def test_model_dump_json_keeps_non_ascii_and_can_escape_it() -> None:
    answer = completion()
    assert '"content":"Hé"' in answer.model_dump_json()
    assert '"content": "H\\u00e9"' in answer.model_dump_json(indent=1, ensure_ascii=True)


def test_to_json_and_to_dict_are_unchanged() -> None:
    answer = completion()
    assert answer.to_json() == json.dumps(answer.to_dict(), ensure_ascii=False)


REFUSED = [
    (
        {"exclude_nones": True},
        "ChatCompletion.model_dump() does not take 'exclude_nones'; did you mean 'exclude_none'?",
    ),
    (
        {"context": {}},
        "ChatCompletion.model_dump() does not take 'context' (these objects are not pydantic"
        " models); it takes: by_alias, exclude, exclude_defaults, exclude_none, exclude_unset,"
        " include, mode, round_trip, warnings",
    ),
    ({"indent": 2}, "ChatCompletion.model_dump() does not take 'indent' (these objects are"),
    (
        {"exclude_none": "yes"},
        "ChatCompletion.model_dump(): exclude_none must be True or False, got 'yes'",
    ),
    ({"by_alias": 1}, "ChatCompletion.model_dump(): by_alias must be True or False, got 1"),
    ({"mode": "xml"}, "ChatCompletion.model_dump(): mode must be 'python' or 'json', got 'xml'"),
    (
        {"warnings": "loud"},
        "ChatCompletion.model_dump(): warnings must be a bool, 'none', 'warn' or 'error',"
        " got 'loud'",
    ),
    (
        {"include": "id"},
        "ChatCompletion.model_dump(): include must be a set of field names or a dict of them"
        " to True or a nested set or dict, got 'id'",
    ),
    (
        {"exclude": {"choices": {0: ["message"]}}},
        "ChatCompletion.model_dump(): exclude['choices'][0] must be a set of field names or a"
        " dict of them to True or a nested set or dict, got ['message']",
    ),
    (
        {"include": {"choices": {True}}},
        "ChatCompletion.model_dump(): include['choices'] has the key True; keys are field"
        " names, list indexes or '__all__'",
    ),
]


@pytest.mark.parametrize(("keywords", "message"), REFUSED)
def test_model_dump_refuses_unknown_keywords_and_bad_values(
    keywords: Dict[str, Any], message: str
) -> None:
    with pytest.raises(errors.InvalidRequestError) as caught:
        completion().model_dump(**keywords)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        (
            {"mode": "json"},
            "ChatCompletion.model_dump_json() does not take 'mode' (these objects are not"
            " pydantic models); it takes: by_alias, ensure_ascii, exclude, exclude_defaults,"
            " exclude_none, exclude_unset, include, indent, round_trip, warnings",
        ),
        ({"indent": -1}, "ChatCompletion.model_dump_json(): indent must be None or a number"),
        ({"indent": "  "}, "ChatCompletion.model_dump_json(): indent must be None or a number"),
        (
            {"ensure_ascii": None},
            "ChatCompletion.model_dump_json(): ensure_ascii must be True or False, got None",
        ),
        ({"exclude": ["id"]}, "ChatCompletion.model_dump_json(): exclude must be a set"),
    ],
)
def test_model_dump_json_refuses_unknown_keywords_and_bad_values(
    keywords: Dict[str, Any], message: str
) -> None:
    with pytest.raises(errors.InvalidRequestError) as caught:
        completion().model_dump_json(**keywords)
    assert str(caught.value).startswith(message)


def test_g4f_sync_types_names_the_response_objects_apart_from_the_legacy_class() -> None:
    import g4f_sync.types as types

    assert g4f_sync.types is types
    assert types.ChatCompletion is chat_types.ChatCompletion is g4f_sync.chat.ChatCompletion
    assert types.ChatCompletion is not g4f_sync.ChatCompletion  # the legacy create()
    assert g4f_sync.ChatCompletion.create  # still there
    assert types.ChatCompletionChunk is g4f_sync.client.ChatCompletionChunk
    assert types.ChatCompletionMessageFunctionToolCall is types.ChatCompletionMessageToolCall
    assert set(chat_types.__all__) <= set(types.__all__)
    assert types.ChatCompletionStream is g4f_sync.client.ChatCompletionStream
    assert types.TokenStream is g4f_sync.TokenStream
    for name in types.__all__:
        assert getattr(types, name).__module__.startswith("g4f_sync."), name


def test_help_of_client_shows_how_to_reach_chat_completions_create() -> None:
    text = pydoc.render_doc(Client, renderer=pydoc.plaintext)
    assert "client.chat.completions.create(model=" in text
    assert "chat.completions.create(messages, model=None, *, provider=None, stream=False" in text
    assert "models.list()" in text and "with_options(**changes)" in text


# Streams


def test_token_stream_repr_through_its_life(emu: Emulator) -> None:
    koala = emu.provider(Koala)
    stream = koala.create_completion("", HI)
    assert repr(stream) == "<TokenStream Koala model='gpt-4o-mini' not started>"
    assert emu.requests == []  # the repr sent nothing
    next(stream)
    assert repr(stream) == "<TokenStream Koala model='gpt-4o-mini' open, 1 token read>"
    list(stream)
    assert repr(stream) == "<TokenStream Koala model='gpt-4o-mini' ended, 3 tokens read>"
    stream.close()
    assert repr(stream).endswith(" ended, 3 tokens read>")  # closing after the end: ended

    stream = koala.create_completion("", HI)
    next(stream)
    stream.close()
    assert repr(stream) == "<TokenStream Koala model='gpt-4o-mini' closed, 1 token read>"
    stream = koala.create_completion("", HI)
    stream.close()
    assert repr(stream) == "<TokenStream Koala model='gpt-4o-mini' closed, 0 tokens read>"


def test_token_stream_repr_tells_a_failure_and_an_interrupt(emu: Emulator) -> None:
    broken = emu.provider(Koala, fault="server_error")
    stream = broken.create_completion("", HI, max_retries=0)
    with pytest.raises(errors.InternalServerError):
        list(stream)
    assert repr(stream) == (
        "<TokenStream Koala model='gpt-4o-mini' failed (InternalServerError), 0 tokens read>"
    )

    stream = emu.provider(Koala).create_completion("", HI)
    next(stream)
    stream.interrupt()
    with pytest.raises(errors.CancelledError):
        list(stream)
    assert repr(stream).startswith("<TokenStream Koala model='gpt-4o-mini' interrupted, ")


def test_chunk_streams_name_the_model_and_never_the_key(emu: Emulator) -> None:
    client = Client(base_url=emu.url + "/v1", api_key=KEY, max_retries=0)
    with client.chat.completions.create(HI, "my-model", stream=True) as chunks:
        assert repr(chunks) == "<ChatCompletionStream Custom model='my-model' not started>"
        next(chunks)
        assert repr(chunks) == "<ChatCompletionStream Custom model='my-model' open, 1 chunk read>"
        tokens = chunks._tokens
        assert repr(tokens) == "<TokenStream Custom model='my-model' open, 1 chunk read>"
    assert repr(chunks) == "<ChatCompletionStream Custom model='my-model' closed, 1 chunk read>"
    assert KEY not in repr(chunks) + repr(tokens) + repr(client)

    stream = emu.provider(Custom).create_chunks(None, HI)
    assert repr(stream) == "<TokenStream Custom model=(default) not started>"


def test_client_stream_of_a_text_provider_and_of_a_retry_provider(emu: Emulator) -> None:
    koala = emu.provider(Koala)
    chunks = Client(koala).chat.completions.create(HI, stream=True)
    assert repr(chunks) == "<ChatCompletionStream Koala model='gpt-4o-mini' not started>"
    assert len(list(chunks)) == 4  # three tokens (the first with the role), the finish
    assert repr(chunks) == "<ChatCompletionStream Koala model='gpt-4o-mini' ended, 4 chunks read>"

    chunks = Client(RetryProvider([koala])).chat.completions.create(HI, stream=True)
    assert repr(chunks) == "<ChatCompletionStream RetryProvider model=(default) not started>"
    next(chunks)
    assert repr(chunks) == "<ChatCompletionStream Koala model='gpt-4o-mini' open, 1 chunk read>"
    chunks.close()


def test_client_stream_repr_tells_an_interrupt_from_another_thread(emu: Emulator) -> None:
    koala = emu.provider(Koala)
    chunks = Client(koala).chat.completions.create(HI, stream=True)
    next(chunks)
    stopper = threading.Thread(target=chunks.interrupt)
    stopper.start()
    stopper.join()
    with pytest.raises(errors.CancelledError):
        list(chunks)
    assert repr(chunks).startswith("<ChatCompletionStream Koala model='gpt-4o-mini' interrupted, ")
