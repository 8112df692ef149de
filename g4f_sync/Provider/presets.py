"""Presets for the OpenAI-compatible servers people run, written as data: one line each
(name, base URL, and where a key or host comes from). Every preset is an
:class:`~g4f_sync.Provider.template.OpenaiTemplate` subclass, named as gpt4free names it
where gpt4free has it.

Local servers need no key; hosted ones read ``<NAME>_API_KEY`` and, without one, raise
:class:`~g4f_sync.errors.MissingAuthError` naming it before any I/O.
"""

from __future__ import annotations

from typing import Any, Type

from .template import OpenaiTemplate

__all__ = [
    "PRESETS",
    "VLLM",
    "Custom",
    "DeepInfra",
    "G4FApi",
    "Groq",
    "LMStudio",
    "LlamaCpp",
    "Ollama",
    "OpenRouter",
    "OpenaiAPI",
    "preset",
]


def preset(name: str, base_url: str, label: str = "", **attributes: Any) -> Type[OpenaiTemplate]:
    """An :class:`OpenaiTemplate` subclass called ``name`` for the server at ``base_url``;
    ``attributes`` set the rest (``api_key_env``, ``needs_auth``, ``base_url_env``, ...)."""
    label = label or name
    attributes.update(
        base_url=base_url,
        url=base_url,
        label=label,
        __module__=__name__,
        __qualname__=name,
        __doc__=f"{label} (``{base_url}``); see :class:`OpenaiTemplate`.",
    )
    return type(name, (OpenaiTemplate,), attributes)


def _hosted(name: str, base_url: str, env: str, label: str = "") -> Type[OpenaiTemplate]:
    """A preset for a hosted service, which needs the key in ``env``."""
    return preset(name, base_url, label, api_key_env=env, needs_auth=True)


Custom = preset("Custom", "http://localhost:8080/v1", "Custom Provider: any base URL")
Ollama = preset("Ollama", "http://localhost:11434/v1", base_url_env="OLLAMA_HOST")
LlamaCpp = preset("LlamaCpp", "http://localhost:8080/v1", "llama.cpp server")
LMStudio = preset("LMStudio", "http://localhost:1234/v1", "LM Studio")
VLLM = preset("VLLM", "http://localhost:8000/v1", "vLLM")
G4FApi = preset("G4FApi", "http://localhost:1337/v1", "gpt4free's g4f api")
OpenaiAPI = _hosted("OpenaiAPI", "https://api.openai.com/v1", "OPENAI_API_KEY", "OpenAI API")
OpenRouter = _hosted("OpenRouter", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY")
Groq = _hosted("Groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY")
DeepInfra = _hosted("DeepInfra", "https://api.deepinfra.com/v1/openai", "DEEPINFRA_API_KEY")

PRESETS = [Custom, Ollama, LlamaCpp, LMStudio, VLLM, G4FApi, OpenaiAPI, OpenRouter, Groq, DeepInfra]
"""Every preset, in the order ``g4f-sync providers`` lists them."""
