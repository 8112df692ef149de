"""Finding providers: by name, by model, and the ``working`` check, as g4f does.

The client layer calls :func:`resolve_provider`; a provider's own ``create_completion``
never checks ``working``, so a subclass pointed at a mirror or the emulator (with
``working = True``, or called directly) always runs.
"""

from __future__ import annotations

from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Type, Union
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from .. import errors
from .base import BaseProvider, ProviderModelMixin

__all__ = [
    "ProviderLike",
    "accepted_options",
    "get_provider",
    "provider_name",
    "rebase_provider",
    "resolve_provider",
    "unsupported_reason",
]

ProviderLike = Union[str, Type[BaseProvider], Any]
"""A provider class, its name (``"Koala"``, any case), or a provider object such as a
:class:`~g4f_sync.Provider.retry.RetryProvider`."""


def _providers() -> List[Type[BaseProvider]]:
    from . import __providers__  # the package imports this module: read it at call time

    return __providers__


def provider_name(provider: Any) -> str:
    """The name errors and responses show: the class name, or ``__name__`` of an object."""
    return str(getattr(provider, "__name__", None) or type(provider).__name__)


def accepted_options(provider: Any) -> Optional[FrozenSet[str]]:
    """The keyword arguments ``provider.create_completion`` takes, or None when the
    provider does not say (an object of your own)."""
    accepted = getattr(provider, "accepted_options", None)
    return frozenset(accepted()) if callable(accepted) else None


def get_provider(provider: ProviderLike) -> Any:
    """The provider for a class, an object or a name (case-insensitive).

    Raises :class:`~g4f_sync.errors.ProviderNotFoundError` naming the known providers.
    """
    if not isinstance(provider, str):
        if not callable(getattr(provider, "create_completion", None)):
            raise errors.ProviderNotFoundError(
                f"{provider!r} is not a provider: give a provider class such as"
                f" g4f_sync.Provider.Koala or its name ({_known()})"
            )
        return provider
    wanted = provider.strip().lower()
    for candidate in _providers():
        if candidate.__name__.lower() == wanted:
            return candidate
    raise errors.ProviderNotFoundError(f"no provider named {provider!r}; known: {_known()}")


def _known() -> str:
    return ", ".join(p.__name__ for p in _providers())


def unsupported_reason(provider: Any, model: Optional[str]) -> Optional[str]:
    """Why ``provider`` cannot serve ``model`` (None: it can). ``""``/None is the default."""
    if model and isinstance(provider, type) and issubclass(provider, ProviderModelMixin):
        try:
            provider.get_model(model)
        except errors.ModelNotSupportedError:
            return f"does not support model {model!r}"
    return None


def resolve_provider(
    model: Optional[str], provider: Optional[ProviderLike] = None, *, ignore_working: bool = False
) -> Any:
    """The provider a call should use.

    With ``provider``: that provider (a name is looked up), after the ``working`` check.
    Without: the first provider of ``g4f_sync.Provider.__providers__`` that is working
    (or any, with ``ignore_working``) and supports ``model`` (any model when empty).

    Raises :class:`~g4f_sync.errors.ProviderNotWorkingError` for a provider marked
    ``working = False``, :class:`~g4f_sync.errors.ProviderNotFoundError` (listing each
    provider considered and why it was passed over) when none fits.
    """
    if provider is not None:
        chosen = get_provider(provider)
        if not ignore_working and not getattr(chosen, "working", True):
            raise not_working_error(chosen)
        return chosen
    considered = []
    for candidate in _providers():
        if not getattr(candidate, "auto_select", True):
            continue
        if not ignore_working and not candidate.working:
            considered.append((candidate.__name__, "not working"))
            continue
        reason = unsupported_reason(candidate, model)
        if reason is None:
            return candidate
        considered.append((candidate.__name__, reason))
    wanted = f"supports model {model!r}" if model else "is available"
    listed = ", ".join(f"{name} ({why})" for name, why in considered) or "none"
    hint = "" if ignore_working else "; pass provider=... with ignore_working=True to try one"
    hint += "; for an OpenAI-compatible server, pass base_url=... (Ollama, llama.cpp, ...)"
    raise errors.ProviderNotFoundError(
        f"no {'' if ignore_working else 'working '}provider {wanted}; considered: {listed}{hint}",
        considered=considered,
    )


def not_working_error(provider: Any) -> errors.ProviderNotWorkingError:
    """The error for calling a provider marked ``working = False``, saying how to override."""
    name = provider_name(provider)
    return errors.ProviderNotWorkingError(
        f"{name} is marked as not working (working = False): its public service is gone."
        f" Pass ignore_working=True to call it anyway, or use a subclass with working = True"
        f" pointed at a live host, e.g. Emulator().provider({name}) from g4f_sync.emulator",
        marked=True,
    )


def rebase_provider(
    provider: Type[BaseProvider], base_url: str, *, query: Optional[Mapping[str, str]] = None
) -> Type[BaseProvider]:
    """A subclass of ``provider`` whose ``url`` and ``api_endpoint`` keep their paths (and
    queries) on ``base_url``'s scheme and host, under its path if it has one; it is marked
    ``working = True`` (the caller chose the host) and keeps its name. ``query`` is added
    to the query of both URLs (a provider that loads a page first sends it there too).

    ``rebase_provider(Koala, "http://127.0.0.1:8080")`` posts to
    ``http://127.0.0.1:8080/api/gpt/``. A provider with a ``rebased`` classmethod (an
    OpenAI-compatible one: the base URL is its API's base) rebases itself. Raises
    :class:`~g4f_sync.errors.InvalidRequestError` for a URL without http(s) scheme and host,
    or a ``query`` for a provider without ``api_endpoint``.
    """
    rebased = getattr(provider, "rebased", None)
    if callable(rebased):
        return rebased(base_url, query)  # type: ignore[no-any-return]
    try:
        base = urlsplit(base_url)
        port = base.port  # ValueError for a port not a number, or too big
        usable = base.scheme in ("http", "https") and bool(base.hostname) and port != 0
    except ValueError:  # also "http://[::1" (an open bracket)
        usable = False
    if not usable:
        raise errors.InvalidRequestError(
            f"base URL {base_url!r} must be http(s)://host[:port][/path]"
        )
    prefix = base.path.rstrip("/")
    extra = list((query or {}).items())

    def rebase(url: str) -> str:
        parts = urlsplit(url)
        pairs = parse_qsl(parts.query, keep_blank_values=True) + extra
        new_query = urlencode(pairs, quote_via=quote)
        return urlunsplit((base.scheme, base.netloc, prefix + parts.path, new_query, ""))

    attributes: Dict[str, Any] = {
        "working": True,
        "__module__": provider.__module__,
        "__qualname__": provider.__qualname__,
        "__doc__": provider.__doc__,
    }
    if not isinstance(getattr(provider, "api_endpoint", None), str):
        if extra:
            raise errors.InvalidRequestError(
                f"{provider.__name__} has no api_endpoint to put a query on"
            )
    else:
        attributes["api_endpoint"] = rebase(provider.api_endpoint)
    if isinstance(getattr(provider, "url", None), str):
        attributes["url"] = rebase(provider.url)
    return type(provider.__name__, (provider,), attributes)
