"""``model_dump()`` and ``model_dump_json()`` with pydantic's keywords, for the response
objects of :mod:`g4f_sync.chat.types` (which are not pydantic models).

Supported, with pydantic v2's meaning:

- ``include`` / ``exclude``: a set of field names, or a dict whose values are ``True``
  (the whole field) or a nested set or dict; in a list, keys are indexes (negative ones
  count from the end) or ``"__all__"`` (every item); in a plain dict, its keys.
  ``include`` keeps only what it names; ``exclude`` then removes what it names.
- ``exclude_none``: leave out fields whose value is None.
- ``exclude_defaults`` and ``exclude_unset``: leave out the optional fields (those with a
  default in openai-python's types) that are None, their default. These objects do not
  record which fields a server sent, so a field left at its default counts as unset.
- In the plain dicts some fields hold (``logprobs``, the token details), a None value is
  left out by all three, as openai-python's typed models there do.
- ``mode`` (``"python"`` or ``"json"``: the same result, every value is JSON data
  already), ``by_alias`` (no field has an alias), ``round_trip`` and ``warnings`` (nothing
  to warn about) are accepted and change nothing.
- ``model_dump_json``: ``indent`` and ``ensure_ascii`` too; without ``indent`` the JSON
  is compact, as pydantic writes it.

Any other keyword raises :class:`~g4f_sync.errors.InvalidRequestError` naming it,
including pydantic's serializer hooks (``context``, ``fallback``, ...) that have nothing
to act on here; so do a bad ``include``/``exclude`` and a non-bool flag.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Set
from typing import Any, Dict, Iterable, List, Optional, Tuple, Union

from .. import errors

__all__ = ["DUMP_FLAGS", "DUMP_KEYWORDS", "JSON_KEYWORDS", "Dump", "check_dump"]

IncEx = Union[Set, Mapping]  # type: ignore[type-arg]
"""pydantic's ``IncEx``: a set of names or indexes, or a dict of them to ``True`` or a
nested ``IncEx``."""

DUMP_FLAGS = ("by_alias", "exclude_defaults", "exclude_none", "exclude_unset", "round_trip")
DUMP_KEYWORDS = frozenset({"mode", "include", "exclude", "warnings", *DUMP_FLAGS})
"""The keywords ``model_dump`` takes."""
JSON_KEYWORDS = (DUMP_KEYWORDS - {"mode"}) | {"indent", "ensure_ascii"}
"""The keywords ``model_dump_json`` takes."""

_WARNING_LEVELS = ("none", "warn", "error")
_ALL = "__all__"


class Dump:
    """One checked dump: what to keep (``include``), what to leave out (``exclude``) and
    which values to drop (``drop_none``, ``drop_defaults``)."""

    __slots__ = ("drop_defaults", "drop_none", "exclude", "include")

    def __init__(
        self,
        include: Optional[IncEx],
        exclude: Optional[IncEx],
        drop_none: bool,
        drop_defaults: bool,
    ) -> None:
        self.include = include
        self.exclude = exclude
        self.drop_none = drop_none
        self.drop_defaults = drop_defaults

    @property
    def is_plain(self) -> bool:
        """True when the dump is ``to_dict()``'s: everything, as it is."""
        return (
            self.include is None
            and self.exclude is None
            and not self.drop_none
            and not self.drop_defaults
        )

    def of(self, record: Any) -> Dict[str, Any]:
        """``record`` (a response object) as plain dicts, lists and scalars."""
        return _record(record, self.include, self.exclude, self)


def check_dump(method: str, owner: str, options: Dict[str, Any], accepted: Iterable[str]) -> Dump:
    """Check the keywords given to ``owner.method()`` (before anything is dumped) and
    return the :class:`Dump` they ask for; :class:`~g4f_sync.errors.InvalidRequestError`
    names the first that is unknown or has a wrong value."""
    where = f"{owner}.{method}()"
    known = sorted(accepted)
    for name in options:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
            hint = (
                f"; did you mean {close[0]!r}?"
                if close
                else f" (these objects are not pydantic models); it takes: {', '.join(known)}"
            )
            raise errors.InvalidRequestError(f"{where} does not take {name!r}{hint}")
    for flag in DUMP_FLAGS:
        value = options.get(flag, False)
        if not isinstance(value, bool) and not (flag == "by_alias" and value is None):
            raise errors.InvalidRequestError(
                f"{where}: {flag} must be True or False, got {value!r}"
            )
    mode = options.get("mode", "python")
    if mode not in ("python", "json"):
        raise errors.InvalidRequestError(f"{where}: mode must be 'python' or 'json', got {mode!r}")
    warnings = options.get("warnings", True)
    if not (isinstance(warnings, bool) or warnings in _WARNING_LEVELS):
        raise errors.InvalidRequestError(
            f"{where}: warnings must be a bool, 'none', 'warn' or 'error', got {warnings!r}"
        )
    include, exclude = options.get("include"), options.get("exclude")
    for name, selection in (("include", include), ("exclude", exclude)):
        if selection is not None:
            _check_selection(where, name, selection)
    drop_defaults = bool(options.get("exclude_defaults") or options.get("exclude_unset"))
    return Dump(include, exclude, bool(options.get("exclude_none")), drop_defaults)


def _check_selection(where: str, name: str, selection: Any, path: str = "") -> None:
    """Raise for an ``include``/``exclude`` that is not pydantic's ``IncEx``."""
    shown = f"{name}{path}"
    if isinstance(selection, Set):
        keys: Iterable[Any] = selection
        values: List[Tuple[Any, Any]] = []
    elif isinstance(selection, Mapping):
        keys = selection.keys()
        values = list(selection.items())
    else:
        raise errors.InvalidRequestError(
            f"{where}: {shown} must be a set of field names or a dict of them to True or"
            f" a nested set or dict, got {selection!r}"
        )
    for key in keys:
        if isinstance(key, bool) or not isinstance(key, (str, int)):
            raise errors.InvalidRequestError(
                f"{where}: {shown} has the key {key!r}; keys are field names, list"
                " indexes or '__all__'"
            )
    for key, value in values:
        if not (isinstance(value, bool) or value is Ellipsis):
            _check_selection(where, name, value, f"{path}[{key!r}]")


def _entry(selection: Any, key: Any, size: Optional[int] = None, excluding: bool = False) -> Any:
    """What ``selection`` says about ``key`` (for a list of ``size`` items, an index):
    None if it names it not, else ``True`` (the whole of it) or a nested selection. A
    list's ``"__all__"`` entry is merged with the item's own. As in pydantic, ``False``
    names the whole in an ``include`` and nothing in an ``exclude``."""
    if isinstance(selection, Set):
        named = key in selection or (size is not None and key - size in selection)
        return True if named or _ALL in selection else None
    own = selection.get(key)
    if own is None and size is not None:
        own = selection.get(key - size)
    return _merge(_whole(own, excluding), _whole(selection.get(_ALL), excluding))


def _whole(entry: Any, excluding: bool) -> Any:
    if entry is Ellipsis or entry is True:
        return True
    if entry is False:
        return None if excluding else True
    return entry


def _merge(first: Any, second: Any) -> Any:
    """The union of two entries: the whole of it if either says so."""
    if first is None:
        return second
    if second is None:
        return first
    if first is True or second is True:
        return True
    first = dict.fromkeys(first, True) if isinstance(first, Set) else first
    second = dict.fromkeys(second, True) if isinstance(second, Set) else second
    return {key: _merge(first.get(key), second.get(key)) for key in {*first, *second}}


def _nested(entry: Any) -> Any:
    """The selection to apply inside a value: None (all of it) for a whole entry."""
    return None if entry is True else entry


def _record(record: Any, include: Any, exclude: Any, dump: Dump) -> Dict[str, Any]:
    optional = type(record)._optional
    result: Dict[str, Any] = {}
    for name in type(record)._fields:
        value = getattr(record, name)
        if value is None and (dump.drop_none or (dump.drop_defaults and name in optional)):
            continue
        picked = None if include is None else _entry(include, name)
        if include is not None and picked is None:
            continue
        dropped = None if exclude is None else _entry(exclude, name, excluding=True)
        if dropped is True:
            continue
        result[name] = _value(value, _nested(picked), _nested(dropped), dump)
    return result


def _value(value: Any, include: Any, exclude: Any, dump: Dump) -> Any:
    if hasattr(type(value), "_optional"):
        return _record(value, include, exclude, dump)
    if isinstance(value, list):
        return _items(value, include, exclude, dump)
    if isinstance(value, dict):
        return _mapping(value, include, exclude, dump)
    return value


def _items(items: List[Any], include: Any, exclude: Any, dump: Dump) -> List[Any]:
    size = len(items)
    result = []
    for index, item in enumerate(items):
        picked = None if include is None else _entry(include, index, size)
        if include is not None and picked is None:
            continue
        dropped = None if exclude is None else _entry(exclude, index, size, excluding=True)
        if dropped is True:
            continue
        result.append(_value(item, _nested(picked), _nested(dropped), dump))
    return result


def _mapping(mapping: Dict[Any, Any], include: Any, exclude: Any, dump: Dump) -> Dict[Any, Any]:
    result = {}
    for key, value in mapping.items():
        if value is None and (dump.drop_none or dump.drop_defaults):
            continue
        picked = None if include is None else _entry(include, key)
        if include is not None and picked is None:
            continue
        dropped = None if exclude is None else _entry(exclude, key, excluding=True)
        if dropped is True:
            continue
        result[key] = _value(value, _nested(picked), _nested(dropped), dump)
    return result
