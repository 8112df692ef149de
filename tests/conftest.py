"""Fixtures shared by the test modules: the loopback emulator.

``emu`` is an :class:`~g4f_sync.emulator.Emulator` with the default options; a module
whose tests need other options overrides ``emu`` with a fixture built on
``make_emulator``. Plain data and helpers live in ``support.py``, imported by name.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

import pytest
from support import MakeEmulator

from g4f_sync.emulator import Emulator


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
