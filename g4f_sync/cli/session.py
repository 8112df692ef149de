"""The interactive chat: the provider checked first, a banner, then a conversation read
line by line with readline's editing and history (docs/cli.md)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any, Dict, List
from urllib.parse import urlsplit

from .. import errors
from ..Provider.registry import provider_name
from .answer import ask
from .reporting import EXIT_INTERRUPTED, USAGE_ERRORS, report

__all__ = ["BANNER_HINT", "LEAVE_WORDS", "PROMPT", "Target", "chat_session", "check_target"]

PROMPT = "> "
BANNER_HINT = (
    "Type 'exit' or 'quit' (or Ctrl-D) to leave; Ctrl-C stops an answer, or leaves at the prompt"
)
LEAVE_WORDS = frozenset({"exit", "quit"})
"""What typed alone at the prompt ends the chat (as in ``llm chat``)."""


@dataclass(frozen=True)
class Target:
    """Who answers: the provider, the model it will be asked for, and where it is."""

    provider: Any
    model: str
    where: str


def chat_session(
    client: Any, provider: Any, model: str, messages: List[Dict[str, Any]], args: argparse.Namespace
) -> int:
    """Check the provider, print the banner, then chat until ``exit``, ``quit``, Ctrl-D
    (exit code 0) or Ctrl-C at the prompt (130), always leaving on a fresh line.

    A turn's question and answer join the conversation; Ctrl-C during an answer keeps
    what came of it (as its answer) and returns to the prompt; a provider error is
    reported on stderr and its turn dropped (recall the question with the up arrow).
    """
    target = check_target(client, provider, model)
    _enable_line_editing()
    where = f" at {target.where}" if target.where else ""
    model_name = target.model or "its default model"
    print(f"Chatting with {model_name} on {provider_name(provider)}{where}")
    print(BANNER_HINT)
    while True:
        try:
            line = input(PROMPT)
        except EOFError:  # Ctrl-D
            print()
            return 0
        except KeyboardInterrupt:  # Ctrl-C at the prompt
            print()
            return EXIT_INTERRUPTED
        question = line.strip()
        if not question:
            continue
        if question in LEAVE_WORDS:
            return 0
        messages.append({"role": "user", "content": line})
        try:
            answer = ask(client, target.provider, target.model, messages, args)
        except USAGE_ERRORS:
            raise
        except errors.G4FError as error:
            report(error, args.debug)
            messages.pop()
            continue
        if answer.text:
            messages.append({"role": "assistant", "content": answer.text})
        else:
            messages.pop()  # nothing came (interrupted before the first token)


def _enable_line_editing() -> None:
    """Importing readline makes ``input()`` edit lines and keep their history (for this
    session, in memory); where it is missing (Windows), input() reads plain lines."""
    try:
        import readline  # noqa: F401
    except ImportError:
        pass


def check_target(client: Any, provider: Any, model: str) -> Target:
    """Ask the provider the cheapest question that shows it can answer, never a chat
    request: an OpenAI-compatible server lists its models (``GET <base URL>/models``,
    whose first model is the one used when none was given); a text provider's page
    (``GET url``) must answer 2xx. Its typed error otherwise, naming the provider."""
    from ..http import Transport

    try:
        list_models = getattr(provider, "list_models", None)
        if callable(list_models):
            where = provider.resolve_base_url()
            listed = list_models(refresh=True, **client.request_options(provider))
            if not model:
                if not listed.data:
                    raise errors.NotFoundError(
                        f"{where}/models lists no model: pass --model NAME", status_code=404
                    )
                model = listed.data[0].id
            return Target(provider, model, where)
        url = getattr(provider, "url", None)
        if not isinstance(url, str):
            return Target(provider, model, "")
        transport = Transport(
            session=client.session,
            proxy=client.proxy,
            timeout=client.timeout,
            max_retries=client.max_retries,
        )
        try:
            transport.get(url)
        finally:
            transport.close()
        parts = urlsplit(url)
        return Target(provider, model, f"{parts.scheme}://{parts.netloc}")
    except errors.G4FError as error:
        error.provider = error.provider or provider_name(provider)
        raise
