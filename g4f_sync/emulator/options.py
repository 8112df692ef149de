"""The options every emulated service shares, and how an option is declared: :class:`ServiceOptions`
and :func:`option`.

An option is a dataclass field made with :func:`option`, which names the function that reads
it from a query string (so ``?delay=0.01`` sets it for one request) and the help and
choices the command line shows (``g4f-sync emulate --<service>-delay``). A service's options
extend :class:`ServiceOptions`, which holds ``tokens``, ``delay``, ``framing``, ``fault``
and ``retry_after`` with their parsing and validation.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Mapping, Optional, Sequence, TypeVar, get_args

from .exchange import Framing
from .query import apply_query, optional, parse_tokens

__all__ = ["ServiceOptions", "option"]

Options = TypeVar("Options", bound="ServiceOptions")


def option(
    default: Any,
    *,
    parse: Callable[[str], Any],
    help: str = "",
    choices: Optional[Sequence[str]] = None,
    cli: bool = True,
    query: bool = True,
    metavar: Optional[str] = None,
) -> Any:
    """A dataclass field for an option: ``parse`` turns a query (or command-line) value into
    the option's value, raising ``ValueError``; ``choices`` are the values the command line
    accepts (None: any); ``cli=False`` leaves it off the command line; ``query=False`` keeps
    a query string from setting it (an option whose ``parse`` reads a local file: a request
    must not make the server read one); ``metavar`` names its value in ``--help``."""
    metadata = {
        "parse": parse,
        "help": help,
        "choices": choices,
        "cli": cli,
        "query": query,
        "metavar": metavar,
    }
    return dataclasses.field(default=default, metadata=metadata)


@dataclass
class ServiceOptions:
    """What a service sends and how it fails, for every request; fields may be changed
    between requests, and a query string overrides them per request.

    Raises ``ValueError`` on a value out of range. Subclasses add their own fields with
    :func:`option`, name their faults in :attr:`FAULTS` and extend :meth:`validate`.
    """

    FAULTS: ClassVar[tuple[str, ...]] = ()
    """The faults ``fault`` may name."""

    tokens: Optional[Sequence[str]] = option(
        None, parse=parse_tokens, help="comma-separated tokens (default: echo the input)"
    )
    """The tokens to send; None: echo the words of the input."""
    delay: float = option(0.0, parse=float, help="seconds between tokens (default: 0)")
    """Seconds between two tokens (events), kept from the first on: a late one does not
    delay the next ones."""
    framing: Framing = option(
        "chunked",
        parse=str,
        choices=get_args(Framing),
        help="how a streamed body ends (default: chunked)",
    )
    fault: Optional[str] = option(None, parse=optional(str), help="answer with this fault")
    """One of :attr:`FAULTS`, or None."""
    retry_after: str = option(
        "1", parse=str, help="Retry-After of the rate_limit fault (default: 1)"
    )

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first field with a bad value."""
        if self.tokens is not None and (
            isinstance(self.tokens, str) or not all(isinstance(t, str) for t in self.tokens)
        ):
            raise ValueError("tokens: must be a list of strings or None")
        if not isinstance(self.delay, (int, float)) or not 0 <= self.delay < math.inf:
            raise ValueError(f"delay: must be a non-negative number of seconds, not {self.delay!r}")
        if self.framing not in get_args(Framing):
            raise ValueError(f"framing: must be 'chunked' or 'close', not {self.framing!r}")
        if self.fault is not None and self.fault not in self.FAULTS:
            known = ", ".join(self.FAULTS) or "none known"
            raise ValueError(f"fault: must be one of {known}, not {self.fault!r}")
        if not isinstance(self.retry_after, str) or any(c in self.retry_after for c in "\r\n"):
            raise ValueError("retry_after: must be a string without line breaks")

    def check_counts(self, *names: str, may_be_none: Sequence[str] = ()) -> None:
        """Raise ``ValueError`` naming the first of the fields ``names`` that is not a
        non-negative integer (or None, for those in ``may_be_none``)."""
        for name in names:
            value = getattr(self, name)
            if value is None and name in may_be_none:
                continue
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
                raise ValueError(f"{name}: must be a non-negative integer, not {value!r}")

    def with_query(self: Options, query: Mapping[str, str]) -> Options:
        """A copy with the query parameters applied; ``ValueError`` names the bad ones,
        and any option that a query may not set."""
        refused = sorted(
            f.name for f in self.option_fields() if not f.metadata["query"] and f.name in query
        )
        if refused:
            raise ValueError(
                f"{', '.join(refused)}: cannot be set by a query string"
                " (only on the command line or in Python)"
            )
        return apply_query(self, query, self.query_parsers())

    @classmethod
    def query_parsers(cls) -> dict[str, Callable[[str], Any]]:
        """Query parameter name -> the function reading its value, for every option a query
        may set."""
        return {f.name: f.metadata["parse"] for f in cls.option_fields() if f.metadata["query"]}

    @classmethod
    def option_fields(cls) -> list[dataclasses.Field[Any]]:
        """The fields declared with :func:`option`, in order."""
        return [f for f in dataclasses.fields(cls) if "parse" in f.metadata]

    @classmethod
    def choices(cls, name: str) -> Optional[Sequence[str]]:
        """The values the command line accepts for option ``name``; None: any."""
        if name == "fault":
            return cls.FAULTS
        field = next(f for f in cls.option_fields() if f.name == name)
        return field.metadata["choices"]
