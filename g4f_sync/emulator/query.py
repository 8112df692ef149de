"""Per-request options from a query string, shared by the emulated services."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping, Optional, TypeVar

__all__ = ["Parsers", "apply_query", "optional", "parse_bool", "parse_tokens"]

Parsers = Mapping[str, Callable[[str], Any]]
"""Query parameter name -> a function turning its raw value into the option's value."""

Options = TypeVar("Options")


def apply_query(options: Options, query: Mapping[str, str], parsers: Parsers) -> Options:
    """A copy of the ``options`` dataclass with ``query`` applied; ``ValueError`` names an
    unknown parameter or a bad value."""
    unknown = sorted(set(query) - set(parsers))
    if unknown:
        raise ValueError(
            f"unknown query parameter(s): {', '.join(unknown)} (known: {', '.join(parsers)})"
        )
    changes: dict[str, Any] = {}
    for name, raw in query.items():
        try:
            changes[name] = parsers[name](raw)
        except ValueError:
            raise ValueError(f"bad value for query parameter {name}: {raw!r}") from None
    return dataclasses.replace(options, **changes)  # type: ignore[type-var]


def parse_bool(raw: str) -> bool:
    """``1/true/yes/on`` or empty -> True, ``0/false/no/off`` -> False."""
    value = raw.strip().lower()
    if value in ("", "1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


def optional(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """``parse``, except that ``none`` or an empty value gives None."""
    return lambda raw: None if raw.strip().lower() in ("", "none") else parse(raw)


def parse_tokens(raw: str) -> Optional[list[str]]:
    """Comma-separated tokens; ``none`` gives None, an empty value no token."""
    if raw.strip().lower() == "none":
        return None
    return raw.split(",") if raw else []
