"""Providers, by name: ``from g4f_sync.Provider import Koala, ChatGptt, Ollama, Custom``.

``__providers__`` lists every built-in provider class; ``ProviderUtils.convert`` maps
names to classes, as in g4f. ``RetryProvider([...])`` falls back from one provider to the
next; :mod:`.registry` finds providers by name (any case) and by model, and
``register(provider)`` adds yours (undone by its ``unregister()`` or ``with`` block).
"""

from __future__ import annotations

from typing import Dict, List, Type

from .base import BaseProvider, ChunkProvider, GeneratorProvider, ProviderModelMixin, TokenStream
from .ChatGptt import ChatGptt
from .Koala import Koala
from .presets import (
    PRESETS,
    VLLM,
    Custom,
    DeepInfra,
    G4FApi,
    Groq,
    LlamaCpp,
    LMStudio,
    Ollama,
    OpenaiAPI,
    OpenRouter,
)
from .registry import Registration, register, registered_providers, unregister
from .retry import RetryProvider
from .template import OpenaiTemplate

__all__ = [
    "VLLM",
    "BaseProvider",
    "ChatGptt",
    "ChunkProvider",
    "Custom",
    "DeepInfra",
    "G4FApi",
    "GeneratorProvider",
    "Groq",
    "Koala",
    "LMStudio",
    "LlamaCpp",
    "Ollama",
    "OpenRouter",
    "OpenaiAPI",
    "OpenaiTemplate",
    "ProviderModelMixin",
    "ProviderUtils",
    "Registration",
    "RetryProvider",
    "TokenStream",
    "__providers__",
    "register",
    "registered_providers",
    "unregister",
]

__providers__: List[Type[BaseProvider]] = [Koala, ChatGptt, *PRESETS]


class ProviderUtils:
    """Name -> provider class, for every provider in ``__providers__``."""

    convert: Dict[str, Type[BaseProvider]] = {
        provider.__name__: provider for provider in __providers__
    }
