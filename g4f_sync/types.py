"""The response objects, by the names openai-python gives them in ``openai.types``::

    from g4f_sync.types import ChatCompletion, ChatCompletionChunk

    def answer_text(response: ChatCompletion) -> str:
        return response.choices[0].message.content or ""

``g4f_sync.ChatCompletion`` is another thing: g4f's legacy ``ChatCompletion.create``,
which returns strings. The classes here are those of :mod:`g4f_sync.chat.types` (also
reachable from ``g4f_sync.chat`` and ``g4f_sync.client``). openai-python has two classes
named ``Choice``; here the chunk's is :class:`ChunkChoice`.

Every object has attribute access, ``model_dump()``/``model_dump_json()`` with pydantic's
keywords (``include``, ``exclude``, ``exclude_none``, ``indent``, ...: see
:mod:`g4f_sync.chat.dump`), ``to_dict()``/``to_json()``, equality and a readable repr. The
streams a call returns are :class:`ChatCompletionStream` (the client's chunks) and
:class:`TokenStream` (a provider's text tokens).
"""

from __future__ import annotations

from .chat.types import (
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
from .client.completions import ChatCompletionStream
from .Provider.base import TokenStream

ChatCompletionMessageFunctionToolCall = ChatCompletionMessageToolCall
"""openai-python's newer name for a function tool call of a message."""

__all__ = [
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "ChatCompletionMessageFunctionToolCall",
    "ChatCompletionMessageToolCall",
    "ChatCompletionStream",
    "Choice",
    "ChoiceDelta",
    "ChoiceDeltaToolCall",
    "ChoiceDeltaToolCallFunction",
    "ChunkChoice",
    "CompletionUsage",
    "Function",
    "Model",
    "ModelList",
    "TokenStream",
]
