"""Finding providers: by name, by model, and the ``working`` check, as g4f does; and
registering your own.

The client layer calls :func:`resolve_provider`; a provider's own ``create_completion``
never checks ``working``, so a subclass pointed at a mirror or the emulator (with
``working = True``, or called directly) always runs.

Registered providers (:func:`register`) come first, the most recent first, both by name
and when a call names no provider; then the built-in ones of ``__providers__``.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Type, Union
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from .. import errors
from .base import BaseProvider, ProviderModelMixin

__all__ = [
    "ProviderLike",
    "Registration",
    "accepted_options",
    "get_provider",
    "provider_name",
    "rebase_provider",
    "register",
    "registered_providers",
    "resolve_provider",
    "unregister",
    "unsupported_reason",
]

ProviderLike = Union[str, Type[BaseProvider], Any]
"""A provider class, its name (``"Koala"``, any case), or a provider object such as a
:class:`~g4f_sync.Provider.retry.RetryProvider`."""

REGISTER_HINT = "import g4f_sync; g4f_sync.register(g4f_sync.Provider.Ollama)"
"""The code :class:`~g4f_sync.errors.ProviderNotFoundError` suggests, runnable as written."""

_registrations: List[Registration] = []
"""Active registrations, oldest first; changed and read under :data:`_registry_lock`."""
_registry_lock = threading.Lock()


class Registration:
    """One :func:`register` call: :meth:`unregister` (or leaving its ``with`` block,
    which gives the provider) undoes it. Thread-safe; undoing twice is harmless."""

    __slots__ = ("provider",)

    def __init__(self, provider: Any) -> None:
        self.provider = provider
        """The provider registered."""

    @property
    def active(self) -> bool:
        """Whether the provider is still registered by this registration."""
        with _registry_lock:
            return any(entry is self for entry in _registrations)

    def unregister(self) -> None:
        """Undo this registration (other registrations of the same provider stay)."""
        with _registry_lock:
            _registrations[:] = [entry for entry in _registrations if entry is not self]

    def __enter__(self) -> Any:
        return self.provider

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.unregister()

    def __repr__(self) -> str:
        state = "active" if self.active else "undone"
        return f"<Registration of {provider_name(self.provider)} ({state})>"


def register(provider: ProviderLike) -> Registration:
    """Make ``provider`` available to calls that name none, and by its name.

    ``provider``: a working provider class (``emulator.provider(Koala)``, a preset such
    as ``Ollama`` or ``Custom.rebased("http://host:8080/v1")``, your own subclass), a
    provider object (a ``RetryProvider``), or a name. A registered provider is chosen
    before the built-in ones, the most recently registered first, whatever its
    ``auto_select``: ``Client()`` and ``ChatCompletion.create(model, messages)`` then use
    it when it supports the model, and ``Client("Koala")`` finds a registered provider
    named Koala before the built-in one.

    Returns a :class:`Registration`: ``unregister()`` it, or register in a ``with``
    block (``with register(p) as provider:``) to undo it on leaving
    (:func:`unregister` undoes every registration of a provider). Thread-safe.

    Raises :class:`~g4f_sync.errors.ProviderNotFoundError` for something that is not a
    provider (or an unknown name) and :class:`~g4f_sync.errors.ProviderNotWorkingError`
    for one marked ``working = False``, which no call without a provider would choose.
    """
    chosen = get_provider(provider)
    if not getattr(chosen, "working", True):
        name = provider_name(chosen)
        raise errors.ProviderNotWorkingError(
            f"cannot register {name}: it is marked as not working (working = False), so no"
            f" call would choose it. Register a working subclass pointed at a live host,"
            f" e.g. Emulator().start().provider({name}) from g4f_sync.emulator",
            marked=True,
        )
    registration = Registration(chosen)
    with _registry_lock:
        _registrations.append(registration)
    return registration


def unregister(provider: Any) -> bool:
    """Undo every registration of ``provider`` (the object :func:`register` was given,
    or found by name); returns whether there was one. Thread-safe."""
    with _registry_lock:
        kept = [entry for entry in _registrations if entry.provider is not provider]
        found = len(kept) < len(_registrations)
        _registrations[:] = kept
    return found


def registered_providers() -> List[Any]:
    """The registered providers, in the order calls consider them (the most recent
    first), each once."""
    with _registry_lock:
        entries = [entry.provider for entry in reversed(_registrations)]
    unique: List[Any] = []
    for provider in entries:
        if not any(provider is seen for seen in unique):
            unique.append(provider)
    return unique


def _builtin_providers() -> List[Type[BaseProvider]]:
    from . import __providers__  # the package imports this module: read it at call time

    return __providers__


def _providers() -> List[Any]:
    """Every provider a name may refer to: the registered ones, then the built-in ones."""
    registered = registered_providers()
    builtin = [p for p in _builtin_providers() if not any(p is r for r in registered)]
    return registered + builtin


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
        if provider_name(candidate).lower() == wanted:
            return candidate
    raise errors.ProviderNotFoundError(f"no provider named {provider!r}; known: {_known()}")


def _known() -> str:
    names = [provider_name(p) for p in _providers()]
    return ", ".join(dict.fromkeys(names))  # each name once, in lookup order


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

    With ``provider``: that provider (a name is looked up, registered ones first), after
    the ``working`` check. Without: the first provider that is working (or any, with
    ``ignore_working``) and supports ``model`` (any model when empty), among the
    registered providers (the most recent first), then those of
    ``g4f_sync.Provider.__providers__`` open to choice (``auto_select``).

    Raises :class:`~g4f_sync.errors.ProviderNotWorkingError` for a provider marked
    ``working = False``, :class:`~g4f_sync.errors.ProviderNotFoundError` (listing each
    provider considered and why it was passed over, and how to register one) when none
    fits.
    """
    if provider is not None:
        chosen = get_provider(provider)
        if not ignore_working and not getattr(chosen, "working", True):
            raise not_working_error(chosen)
        return chosen
    registered = registered_providers()
    builtin = [
        candidate
        for candidate in _builtin_providers()
        if getattr(candidate, "auto_select", True) and not any(candidate is r for r in registered)
    ]
    considered = []
    for candidate in registered + builtin:
        name = provider_name(candidate)
        if not ignore_working and not getattr(candidate, "working", True):
            considered.append((name, "not working"))
            continue
        reason = unsupported_reason(candidate, model)
        if reason is None:
            return candidate
        considered.append((name, reason))
    wanted = f"supports model {model!r}" if model else "is available"
    listed = ", ".join(f"{name} ({why})" for name, why in considered) or "none"
    raise errors.ProviderNotFoundError(
        f"no {'' if ignore_working else 'working '}provider {wanted}; considered: {listed}."
        " Pass provider=..., or register one, e.g. for Ollama on this machine (any"
        " OpenAI-compatible server: Custom.rebased(base_url); the emulator:"
        f" emulator.provider(Koala)): {REGISTER_HINT}",
        considered=considered,
    )


def not_working_error(provider: Any) -> errors.ProviderNotWorkingError:
    """The error for calling a provider marked ``working = False``, saying how to override."""
    name = provider_name(provider)
    return errors.ProviderNotWorkingError(
        f"{name} is marked as not working (working = False): its public service is gone."
        f" Pass ignore_working=True to call it anyway, or use a subclass with working = True"
        f" pointed at a live host, e.g. Emulator().start().provider({name}) from"
        " g4f_sync.emulator",
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
