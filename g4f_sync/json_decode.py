"""JSON from a server, decoded with one kind of failure."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["decode_json"]


def decode_json(text: str) -> Any:
    """``json.loads(text)``, raising ``ValueError`` whose message completes "cannot read
    X: ...": ``"it is not JSON"``, or for a value nested too deeply for the parser (a
    ``RecursionError`` in ``json``) ``"its JSON is nested too deeply to read"``."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("its JSON is nested too deeply to read") from None
    except ValueError:
        raise ValueError("it is not JSON") from None
