"""Fixtures shared by the test modules: the loopback emulator.

``emu`` is an :class:`~g4f_sync.emulator.Emulator` with the default options; a module
whose tests need other options overrides ``emu`` with a fixture built on
``make_emulator``. Plain data and helpers live in ``support.py``, imported by name.
No test may leave a provider registered (``g4f_sync.register``).
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

import pytest
from support import MakeEmulator

from g4f_sync.emulator import Emulator
from g4f_sync.Provider.registry import registered_providers, unregister


@pytest.fixture
def make_emulator() -> Iterator[MakeEmulator]:
    """Starts an ``Emulator(**options)``; every one it started is closed after the test."""
    with contextlib.ExitStack() as started:

        def make(**options: Any) -> Emulator:
            return started.enter_context(Emulator(**options))

        yield make


@pytest.fixture
def emu(make_emulator: MakeEmulator) -> Emulator:
    """A running emulator with the default options, closed after the test."""
    return make_emulator()


@pytest.fixture(autouse=True)
def no_registration_outlives_its_test() -> Iterator[None]:
    """Fails a test that leaves a provider registered (after undoing it, so that the
    next tests are not affected)."""
    yield
    left = registered_providers()
    for provider in left:
        unregister(provider)
    assert left == [], "the test left providers registered: use register() in a with block"
