"""Reading OpenAI chat-completion JSON (streamed chunks and whole answers) into
:mod:`g4f_sync.chat.types`: the one reader the OpenAI-compatible providers and ChatGptt's
streamed answers share.

It reads the dialects servers speak: extra fields are ignored (g4f's ``provider``,
LiteLLM's ``reasoning: null``, ``tool_calls: null``), reasoning comes as
``reasoning_content`` (DeepSeek, vLLM) or ``reasoning`` (OpenRouter, g4f), the usage chunk
has ``choices: []`` (OpenAI) or one empty-delta choice (LiteLLM), legacy completion
chunks carry ``choices[].text``. Deltas pass through unchanged, empty strings and control
characters included. An ``{"error": ...}`` object raises
:class:`~g4f_sync.errors.APIError`; a shape that cannot be read raises
:class:`~g4f_sync.errors.ResponseError` quoting it.
"""

from __future__ import annotations

import json
from json.decoder import scanstring
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ..errors import APIError, ResponseError
from ..json_decode import decode_json
from .types import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionMessageToolCall,
    Choice,
    ChoiceDelta,
    ChoiceDeltaToolCall,
    ChoiceDeltaToolCallFunction,
    ChunkChoice,
    CompletionUsage,
    Function,
    Model,
    ModelList,
)

__all__ = [
    "EventReader",
    "chunks_of",
    "raise_for_error_object",
    "read_chunk",
    "read_completion",
    "read_models",
    "text_only",
]

_EXCERPT = 200


def raise_for_error_object(data: Mapping[str, Any]) -> None:
    """Raise :class:`~g4f_sync.errors.APIError` when ``data`` is an error object
    (``{"error": {"message", "type", "code", "param"}}`` or ``{"error": "..."}``)."""
    error = data.get("error")
    if not error:
        return
    if isinstance(error, dict):
        message = error.get("message")
        said = message if isinstance(message, str) else _json(error)
        raise APIError(
            f"the server reported an error: {said}",
            type=_text_or_none(error.get("type")),
            code=_text_or_none(error.get("code")),
            param=_text_or_none(error.get("param")),
        )
    raise APIError(f"the server reported an error: {error}")


def read_chunk(data: Any, provider: str) -> ChatCompletionChunk:
    """One streamed chunk (a decoded ``data:`` value) as a
    :class:`~g4f_sync.chat.types.ChatCompletionChunk`; ``provider`` fills its
    ``provider`` unless the server names one."""
    if not isinstance(data, dict):
        raise ResponseError(f"cannot read the event {_json(data)!r}: not an object")
    raise_for_error_object(data)
    if not isinstance(data.get("choices"), list):
        raise ResponseError(f"cannot read the event {_json(data)!r}: expected OpenAI chunk choices")
    choices = data["choices"]
    return ChatCompletionChunk(
        _str(data.get("id")),
        _int(data.get("created")),
        _str(data.get("model")),
        _str(data.get("provider")) or provider,
        [_chunk_choice(choice, position, data) for position, choice in enumerate(choices)],
        _usage(data.get("usage"), data),
        _text_or_none(data.get("system_fingerprint")),
    )


_JSON_SPACE = " \t\n\r"
_PROBES = ("\x01", "\x02")
"""Strings put where a template's content was (the first that is not the content), to check
that the content read there is the chunk's: no later ``content`` key overrides it."""
_WASTED_TEMPLATES = 2
"""Templates made in a row that never matched a later event, after which an EventReader
makes no more (a server whose every chunk differs: a new id each, ``n`` > 1 interleaved)."""


class EventReader:
    """The ``data`` of a stream's events as chunks: ``read_chunk(decode_json(data))``
    (:meth:`chunk`), or only the text it adds to choice 0 (:meth:`text`).

    The same result, faster for the usual event: a chunk of one choice whose delta holds
    only ``content``. The first such event (read in full) becomes a template: its text
    before and after the content string. A later event with that same text around a JSON
    string is then read with one ``scanstring`` (the same strict decoding as ``json.loads``)
    and its other fields taken from the template, which the identical text makes equal;
    any other event is read in full. One reader per stream; not thread-safe.
    """

    __slots__ = (
        "_choice",
        "_head",
        "_matched",
        "_prefix",
        "_provider",
        "_start",
        "_suffix",
        "_wasted",
    )

    def __init__(self, provider: str) -> None:
        self._provider = provider
        self._prefix: Optional[str] = None
        """The template's text up to and with its content string's opening quote."""
        self._suffix = ""
        """The template's text after its content string's closing quote."""
        self._start = 0
        """The length of the prefix: where the content string starts."""
        self._head: Tuple[str, int, str, str, Optional[str]] = ("", 0, "", "", None)
        """The template chunk's id, created, model, provider and system_fingerprint."""
        self._choice: Tuple[Optional[str], int] = (None, 0)
        """Its choice's finish_reason and index."""
        self._matched = False
        """Whether an event matched the template since it was made."""
        self._wasted = 0

    def chunk(self, data: str) -> ChatCompletionChunk:
        """The event's chunk, as :func:`read_chunk` reads its decoded ``data``; a
        :class:`~g4f_sync.errors.ResponseError` quoting ``data`` when it is not JSON."""
        content = self._templated(data)
        if content is None:
            return self._read(data)
        id, created, model, provider, fingerprint = self._head
        finish_reason, index = self._choice
        choice = ChunkChoice(ChoiceDelta(content), finish_reason, index)
        return ChatCompletionChunk(id, created, model, provider, [choice], None, fingerprint)

    def text(self, data: str) -> str:
        """:func:`text_only` of the event's chunk, without making the chunk in the usual
        case; errors as :meth:`chunk`."""
        content = self._templated(data)
        if content is None:
            return text_only(self._read(data))
        if self._choice[1] != 0:
            raise _not_text(f"choice {self._choice[1]}")
        return content

    def _templated(self, data: str) -> Optional[str]:
        """The content string of an event that is the template around another string;
        None for any other event (read it in full)."""
        if self._prefix is None:
            return None
        start = self._start
        try:
            content, end = scanstring(data, start)
        except ValueError:
            return None
        if data[end:] != self._suffix or data[:start] != self._prefix:
            return None
        self._matched = True
        return content  # type: ignore[no-any-return]

    def _read(self, data: str) -> ChatCompletionChunk:
        """Read ``data`` in full; make it the template when it is a content-only chunk."""
        try:
            decoded = decode_json(data)
        except ValueError as exc:
            raise ResponseError(f"cannot read the event {data[:200]!r}: {exc}") from None
        chunk = read_chunk(decoded, self._provider)
        if self._wasted < _WASTED_TEMPLATES and _content_only(chunk):
            place = _template_of(data, chunk, self._provider)
            if place is not None:
                if self._prefix is not None:
                    self._wasted = 0 if self._matched else self._wasted + 1
                self._prefix, self._suffix = place
                self._start = len(self._prefix)
                choice = chunk.choices[0]
                self._head = (
                    chunk.id,
                    chunk.created,
                    chunk.model,
                    chunk.provider,
                    chunk.system_fingerprint,
                )
                self._choice = (choice.finish_reason, choice.index)
                self._matched = False
        return chunk


def text_only(chunk: ChatCompletionChunk) -> str:
    """The text a chunk adds to choice 0, for a stream of text tokens;
    :class:`~g4f_sync.errors.ResponseError` when it carries what text cannot (another
    choice, tool calls), rather than dropping it."""
    text = ""
    for choice in chunk.choices:
        if choice.index != 0 or choice.delta.tool_calls:
            raise _not_text(f"choice {choice.index}" if choice.index else "tool calls")
        text = choice.delta.content or ""
    return text


def _not_text(what: str) -> ResponseError:
    return ResponseError(
        f"the server answered with {what}, which text tokens cannot carry;"
        " use g4f_sync.Client().chat.completions.create"
    )


def _content_only(chunk: ChatCompletionChunk) -> bool:
    """Whether ``chunk`` is one choice whose delta has content and nothing else."""
    if chunk.usage is not None or len(chunk.choices) != 1:
        return False
    choice = chunk.choices[0]
    delta = choice.delta
    return (
        choice.logprobs is None
        and isinstance(delta.content, str)
        and delta.role is None
        and delta.tool_calls is None
        and delta.reasoning_content is None
        and delta.refusal is None
    )


def _template_of(data: str, chunk: ChatCompletionChunk, provider: str) -> Optional[Tuple[str, str]]:
    """The text before a content-only chunk's content string in ``data`` (with its opening
    quote) and after it: the string is found after a ``"content"`` key, and checked by
    reading ``data`` with another string there, which must become the chunk's content.
    None when no place passes."""
    content = chunk.choices[0].delta.content
    probe_text = _PROBES[0] if content != _PROBES[0] else _PROBES[1]
    start = data.find('"content"')
    while start >= 0:
        place = _value_after(data, start + len('"content"'))
        if place is not None and place[0] == content:
            value_start, value_end = place[1], place[2]
            prefix, suffix = data[: value_start + 1], data[value_end:]
            probed = prefix[:-1] + json.dumps(probe_text) + suffix
            try:
                probe = read_chunk(json.loads(probed), provider)
            except (ValueError, RecursionError, ResponseError, APIError):
                probe = None
            if (
                probe is not None
                and _content_only(probe)
                and probe.choices[0].delta.content == probe_text
            ):
                return prefix, suffix
        start = data.find('"content"', start + 1)
    return None


def _value_after(data: str, position: int) -> Optional[Tuple[str, int, int]]:
    """The JSON string after ``: `` at ``position`` (spaces allowed around the colon): its
    value, the index of its opening quote and the index after its closing one."""
    end = len(data)
    while position < end and data[position] in _JSON_SPACE:
        position += 1
    if position == end or data[position] != ":":
        return None
    position += 1
    while position < end and data[position] in _JSON_SPACE:
        position += 1
    if position == end or data[position] != '"':
        return None
    try:
        value, after = scanstring(data, position + 1)
    except ValueError:
        return None
    return value, position, after


def read_completion(data: Any, provider: str) -> ChatCompletion:
    """A whole (non-streamed) answer as a :class:`~g4f_sync.chat.types.ChatCompletion`;
    :class:`~g4f_sync.errors.ResponseError` for one without ``choices`` (an answer of
    another kind: ``"choices": null`` reads as none)."""
    if not isinstance(data, dict):
        raise ResponseError(f"cannot read the answer {_json(data)!r}: not an object")
    raise_for_error_object(data)
    choices = []
    for position, choice in enumerate(_list(data, "choices", data)):
        if not isinstance(choice, dict):
            raise ResponseError(f"cannot read the answer {_json(data)!r}: a choice is no object")
        message = choice.get("message")
        if not isinstance(message, dict):
            message = {"content": choice.get("text")}  # a legacy completion
        choices.append(
            Choice(
                _message(message, data),
                _text_or_none(choice.get("finish_reason")),
                _index(choice, position),
                _dict_or_none(choice.get("logprobs")),
            )
        )
    return ChatCompletion(
        _str(data.get("id")),
        _int(data.get("created")),
        _str(data.get("model")),
        _str(data.get("provider")) or provider,
        choices,
        _usage(data.get("usage"), data),
        _text_or_none(data.get("system_fingerprint")),
    )


def chunks_of(completion: ChatCompletion) -> List[ChatCompletionChunk]:
    """The chunks a stream of ``completion`` would have sent, in as few pieces as can be:
    one chunk per choice (its whole message as one delta), then one with the usage.
    :func:`g4f_sync.chat.assemble.build_completion` turns them back into ``completion``."""
    head = (completion.id, completion.created, completion.model, completion.provider)
    chunks = []
    for choice in completion.choices:
        message = choice.message
        calls = [
            ChoiceDeltaToolCall(
                index,
                call.id,
                ChoiceDeltaToolCallFunction(call.function.name, call.function.arguments),
                call.type,
            )
            for index, call in enumerate(message.tool_calls or [])
        ]
        delta = ChoiceDelta(
            message.content,
            message.role,
            tool_calls=calls or None,
            reasoning_content=message.reasoning_content,
            refusal=message.refusal,
        )
        chunk_choice = ChunkChoice(delta, choice.finish_reason, choice.index, choice.logprobs)
        chunks.append(
            ChatCompletionChunk(*head, [chunk_choice], None, completion.system_fingerprint)
        )
    if completion.usage is not None or not chunks:
        chunks.append(
            ChatCompletionChunk(*head, [], completion.usage, completion.system_fingerprint)
        )
    return chunks


def read_models(data: Any) -> ModelList:
    """A ``GET /v1/models`` answer (``{"data": [{"id", ...}]}``, ``"data": null`` for
    none) as a :class:`~g4f_sync.chat.types.ModelList`; a
    :class:`~g4f_sync.errors.ResponseError` for an answer without ``data``."""
    if not isinstance(data, dict):
        raise ResponseError(f"cannot read the model list {_json(data)!r}: not an object")
    raise_for_error_object(data)
    models = []
    for entry in _list(data, "data", data):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise ResponseError(f"cannot read the model list {_json(data)!r}: a model has no id")
        models.append(Model(entry["id"], _int(entry.get("created")), _str(entry.get("owned_by"))))
    return ModelList(models)


def _chunk_choice(choice: Any, position: int, chunk: Any) -> ChunkChoice:
    if not isinstance(choice, dict):
        raise ResponseError(f"cannot read the event {_json(chunk)!r}: a choice is no object")
    delta = choice.get("delta")
    if delta is None:
        delta = {"content": choice.get("text")}  # a legacy completion chunk
    elif not isinstance(delta, dict):
        raise ResponseError(f"cannot read the event {_json(chunk)!r}: the delta is no object")
    calls = delta.get("tool_calls")
    return ChunkChoice(
        ChoiceDelta(
            _content(delta.get("content"), chunk),
            _text_or_none(delta.get("role")),
            tool_calls=[_delta_call(call, chunk) for call in calls] if calls else None,
            reasoning_content=_reasoning(delta, chunk),
            refusal=_text_or_none(delta.get("refusal")),
        ),
        _text_or_none(choice.get("finish_reason")),
        _index(choice, position),
        _dict_or_none(choice.get("logprobs")),
    )


def _delta_call(call: Any, chunk: Any) -> ChoiceDeltaToolCall:
    if not isinstance(call, dict):
        raise ResponseError(f"cannot read the event {_json(chunk)!r}: a tool call is no object")
    function = call.get("function")
    piece = None
    if isinstance(function, dict):
        piece = ChoiceDeltaToolCallFunction(
            _text_or_none(function.get("name")), _content(function.get("arguments"), chunk)
        )
    index = call.get("index", 0)
    if not isinstance(index, int) or isinstance(index, bool):
        raise ResponseError(f"cannot read the event {_json(chunk)!r}: a tool call has no index")
    return ChoiceDeltaToolCall(
        index, _text_or_none(call.get("id")), piece, _text_or_none(call.get("type"))
    )


def _message(message: Dict[str, Any], data: Any) -> ChatCompletionMessage:
    calls = message.get("tool_calls") or []
    tool_calls = []
    for call in calls:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise ResponseError(f"cannot read the answer {_json(data)!r}: a tool call has no name")
        arguments = function.get("arguments")
        if not isinstance(arguments, str):  # some servers send the object itself
            arguments = json.dumps(arguments, ensure_ascii=False) if arguments else ""
        tool_calls.append(
            ChatCompletionMessageToolCall(
                _str(call.get("id")), Function(function["name"], arguments)
            )
        )
    return ChatCompletionMessage(
        _content(message.get("content"), data),
        _str(message.get("role")) or "assistant",
        tool_calls=tool_calls or None,
        reasoning_content=_reasoning(message, data),
        refusal=_text_or_none(message.get("refusal")),
    )


def _reasoning(delta: Dict[str, Any], data: Any) -> Optional[str]:
    value = delta.get("reasoning_content")
    if value is None:
        value = delta.get("reasoning")
    return _content(value, data)


def _usage(value: Any, data: Any) -> Optional[CompletionUsage]:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ResponseError(f"cannot read {_json(data)!r}: the usage is no object")
    prompt, completion = _int(value.get("prompt_tokens")), _int(value.get("completion_tokens"))
    total = value.get("total_tokens")
    return CompletionUsage(
        prompt,
        completion,
        total if isinstance(total, int) else None,
        prompt_tokens_details=_dict_or_none(value.get("prompt_tokens_details")),
        completion_tokens_details=_dict_or_none(value.get("completion_tokens_details")),
    )


def _content(value: Any, data: Any) -> Optional[str]:
    if value is None or isinstance(value, str):
        return value
    raise ResponseError(f"cannot read {_json(data)!r}: a text field is not a string")


def _list(data: Dict[str, Any], key: str, whole: Any) -> List[Any]:
    """``data[key]``, a list; null is an empty one (a Go server's nil slice), a missing key
    a :class:`~g4f_sync.errors.ResponseError` (the answer is not of the kind expected)."""
    if key not in data:
        raise ResponseError(f"cannot read {_json(whole)!r}: it has no {key!r}")
    value = data[key]
    if value is None:
        return []
    if not isinstance(value, list):
        raise ResponseError(f"cannot read {_json(whole)!r}: {key!r} is not a list")
    return value


def _index(choice: Dict[str, Any], position: int) -> int:
    index = choice.get("index", position)
    return index if isinstance(index, int) and not isinstance(index, bool) else position


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _text_or_none(value: Any) -> Optional[str]:
    if value is None or isinstance(value, str):
        return value
    return str(value)


def _dict_or_none(value: Any) -> Optional[Dict[str, Any]]:
    return value if isinstance(value, dict) else None


def _json(value: Any) -> str:
    """``value`` as JSON on one line, cut for an error message."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _EXCERPT else text[: _EXCERPT - 1] + "…"
