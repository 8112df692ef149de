"""OpenAI chat completions as data: the response objects (``types``), reading them from
the wire (``chunks``), rebuilding an answer from its chunks (``assemble``), and the request
side (``request``). Shared by the providers and the client; knows nothing of HTTP."""

from .assemble import build_completion
from .chunks import chunks_of, read_chunk, read_completion, read_models
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
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "ChatCompletionMessageToolCall",
    "Choice",
    "ChoiceDelta",
    "ChoiceDeltaToolCall",
    "ChoiceDeltaToolCallFunction",
    "ChunkChoice",
    "CompletionUsage",
    "Function",
    "Model",
    "ModelList",
    "build_completion",
    "chunks_of",
    "read_chunk",
    "read_completion",
    "read_models",
]
