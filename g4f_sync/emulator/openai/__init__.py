"""The OpenAI chat-completions service: ``POST /v1/chat/completions`` and ``GET /v1/models``,
as OpenAI and the servers copying it (LiteLLM, vLLM, DeepSeek, OpenRouter, g4f's
``g4f api``) speak it, for testing OpenAI-compatible clients offline.

::

    import openai
    from g4f_sync.emulator import Emulator, OpenAIOptions

    with Emulator(openai=OpenAIOptions(tokens=["Hi", "!"], usage_shape="litellm")) as emu:
        client = openai.OpenAI(base_url=emu.url + "/v1", api_key="any", max_retries=0)

Every field of :class:`OpenAIOptions` can also be set per request by a query parameter of
the same name (``?tool_calls=...&delay=0.01``) and on the command line
(``--openai-<option>``). docs/openai-emulator.md is the reference of the wire format:
authentication, the request checks, the reply streamed and not, usage, logprobs, tool
calls, pacing and every fault; docs/emulator.md maps this package's modules.
"""

from .options import (
    FAULTS,
    REASONING_FIELDS,
    USAGE_SHAPES,
    OpenAIOptions,
    ToolCall,
    parse_tool_calls,
)
from .service import API_BASE, OpenAIService

__all__ = [
    "API_BASE",
    "FAULTS",
    "REASONING_FIELDS",
    "USAGE_SHAPES",
    "OpenAIOptions",
    "OpenAIService",
    "ToolCall",
    "parse_tool_calls",
]
