"""g4f_sync: a synchronous, requests-based SDK for gpt4free-style chat providers.

No asyncio: blocking calls and plain iterators that work the same in scripts, in
Jupyter and in code bases that never adopted asyncio.
"""

from __future__ import annotations

from . import errors
from . import types as types  # the response objects, as openai.types
from .client import Client
from .client.legacy import ChatCompletion
from .errors import G4FError
from .http import Retry, Session, Timeout
from .Provider import ChatGptt, Koala, RetryProvider
from .Provider.base import TokenStream
from .Provider.registry import register
from .threaded import BatchResult, ThreadedStream, run_batch
from .typing import Message, Messages

__version__ = "0.1.0"

__all__ = [
    "BatchResult",
    "ChatCompletion",
    "ChatGptt",
    "Client",
    "G4FError",
    "Koala",
    "Message",
    "Messages",
    "Retry",
    "RetryProvider",
    "Session",
    "ThreadedStream",
    "Timeout",
    "TokenStream",
    "__version__",
    "errors",
    "register",
    "run_batch",
]
