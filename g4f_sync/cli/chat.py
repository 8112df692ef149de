"""``g4f-sync chat``: one question (PROMPT, piped stdin, or both), or, on a terminal, an
interactive chat (:mod:`.session`)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Dict, List, Optional, TextIO

from .. import errors
from .answer import ask
from .reporting import EXIT_INTERRUPTED

__all__ = ["client_from", "prompt_from", "run_chat"]


def client_from(args: argparse.Namespace) -> Any:
    """The :class:`~g4f_sync.Client` the connection options describe; every option is
    checked here, before any I/O.

    ``$OPENAI_API_KEY`` is the key of ``--base-url`` alone (an OpenAI-compatible server);
    with neither ``--provider`` nor ``--base-url`` the Client reads ``$OPENAI_BASE_URL``
    and ``$OPENAI_API_KEY`` itself; a preset (``--provider OpenRouter``) reads its own
    variable. A text provider pointed elsewhere (``--provider Koala --base-url ...``)
    gets no key from the environment: it takes none.
    """
    from .. import Client

    api_key = args.api_key
    if api_key is None and args.base_url and not args.provider:
        api_key = os.environ.get("OPENAI_API_KEY") or None
    return Client(
        args.provider,
        base_url=args.base_url,
        api_key=api_key,
        proxy=args.proxy,
        timeout=args.timeout,
    )


def run_chat(args: argparse.Namespace) -> int:
    """Check the provider and model (no I/O), then ask once, or chat on a terminal."""
    from ..Provider.registry import resolve_provider

    client = client_from(args)
    provider = resolve_provider(args.model, client.provider, ignore_working=args.ignore_working)
    get_model = getattr(provider, "get_model", None)
    model: str = get_model(args.model) if callable(get_model) else args.model
    messages: List[Dict[str, Any]] = []
    if args.system:
        messages.append({"role": "system", "content": args.system})
    if args.prompt is None and _is_terminal(sys.stdin) and _is_terminal(sys.stdout):
        from .session import chat_session

        return chat_session(client, provider, model, messages, args)
    prompt = prompt_from(args.prompt, sys.stdin)
    if not prompt.strip():
        raise errors.InvalidRequestError(
            "the prompt is empty: give PROMPT, pipe the prompt to stdin, or run on a"
            " terminal to chat"
        )
    messages.append({"role": "user", "content": prompt})
    answer = ask(client, provider, model, messages, args)
    return EXIT_INTERRUPTED if answer.interrupted else 0


def prompt_from(argument: Optional[str], stdin: Optional[TextIO]) -> str:
    """The one prompt of a non-interactive call, as llm reads it: ``-`` is all of stdin;
    piped stdin comes first, then PROMPT, joined by a space; PROMPT alone is itself; with
    neither (stdin a terminal, stdout not), stdin is read to its end."""
    if argument == "-":
        return stdin.read() if stdin is not None else ""
    if stdin is None:  # closed (``<&-``): nothing to read
        return argument or ""
    if not stdin.isatty():
        piped = stdin.read()
        if piped and argument is not None:
            return f"{piped} {argument}"
        return piped or argument or ""
    return argument if argument is not None else stdin.read()


def _is_terminal(stream: Optional[TextIO]) -> bool:
    return stream is not None and stream.isatty()
