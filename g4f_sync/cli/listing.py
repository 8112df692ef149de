"""``g4f-sync providers`` and ``g4f-sync models``: what there is to talk to."""

from __future__ import annotations

import argparse
import json
from typing import Any, Dict, List

from .. import errors
from .chat import client_from

__all__ = ["provider_facts", "run_models", "run_providers"]


def provider_facts(provider: Any) -> Dict[str, Any]:
    """What ``providers --json`` says of one provider."""
    get_models = getattr(provider, "get_models", None)
    return {
        "name": provider.__name__,
        "working": bool(provider.working),
        "supports_stream": bool(provider.supports_stream),
        "supports_system_message": bool(provider.supports_system_message),
        "supports_message_history": bool(provider.supports_message_history),
        "default_model": getattr(provider, "default_model", "") or None,
        "models": list(get_models()) if callable(get_models) else [],
        "url": getattr(provider, "url", None),
    }


def run_providers(args: argparse.Namespace) -> int:
    """``g4f-sync providers``: a table of the providers and what they support, or a JSON
    list of :func:`provider_facts` with ``--json``."""
    from ..Provider import __providers__

    facts = [provider_facts(provider) for provider in __providers__]
    if args.json:
        print(json.dumps(facts, indent=2))
        return 0

    def yes(value: object) -> str:
        return "yes" if value else "no"

    rows = [["name", "working", "stream", "system", "history", "default model", "models"]]
    for fact in facts:
        rows.append(
            [
                fact["name"],
                yes(fact["working"]),
                yes(fact["supports_stream"]),
                yes(fact["supports_system_message"]),
                yes(fact["supports_message_history"]),
                fact["default_model"] or "-",
                ", ".join(fact["models"]) or "-",
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths)]
        print("  ".join([*cells, row[-1]]))
    return 0


def run_models(args: argparse.Namespace) -> int:
    """``g4f-sync models``: the server's model ids, one a line (``GET <base URL>/models``,
    always asked afresh), or a text provider's fixed list; the server's JSON shape
    (``{"object": "list", "data": [...]}``) with ``--json``."""
    client = client_from(args)
    if client.provider is None:
        raise errors.ProviderNotFoundError(
            "models: which server? give --base-url URL (or set OPENAI_BASE_URL), or --provider NAME"
        )
    models = client.models.list(refresh=True)
    if args.json:
        print(models.to_json(indent=2))
        return 0
    ids: List[str] = [model.id for model in models.data]
    for model_id in ids:
        print(model_id)
    return 0
