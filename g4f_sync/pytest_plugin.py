"""The pytest plugin: a running emulator for your own tests, as the ``g4f_emulator`` fixture.

pytest loads it through the ``pytest11`` entry point that installing g4f_sync registers;
nothing to configure. ``import g4f_sync`` never imports this module (nor pytest)::

    from g4f_sync import errors
    from g4f_sync.emulator import OpenAIOptions

    def test_my_code_reports_a_rate_limit(g4f_emulator):
        g4f_emulator.openai = OpenAIOptions(fault="rate_limit")
        client = g4f_emulator.client(max_retries=0)   # or Client(base_url=g4f_emulator.base_url)
        ...                                            # run your code with `client`
        assert g4f_emulator.requests[0].path == "/v1/chat/completions"

Each test gets its own :class:`~g4f_sync.emulator.Emulator` on a free port of 127.0.0.1,
with the default options, closed after the test. ``@pytest.mark.g4f_emulator(...)`` gives
a test (or a module, through ``pytestmark``) other arguments of ``Emulator``:
``@pytest.mark.g4f_emulator(koala=KoalaOptions(tokens=["a", "b"]), keep_requests=None)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Iterator

import pytest

if TYPE_CHECKING:
    from .emulator import Emulator

__all__ = ["MARKER", "g4f_emulator"]

MARKER = "g4f_emulator"
"""The marker that passes arguments to the fixture's ``Emulator``."""


def pytest_configure(config: pytest.Config) -> None:
    """Declare the marker, so that ``--strict-markers`` accepts it."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**arguments): arguments of the g4f_emulator fixture's Emulator"
        " (koala=KoalaOptions(...), openai=OpenAIOptions(...), keep_requests=N, ...)",
    )


def emulator_arguments(request: pytest.FixtureRequest) -> Dict[str, Any]:
    """The keyword arguments of the closest ``g4f_emulator`` marker (none: ``{}``);
    ``TypeError`` for positional ones."""
    marker = request.node.get_closest_marker(MARKER)
    if marker is None:
        return {}
    if marker.args:
        raise TypeError(
            f"@pytest.mark.{MARKER} takes keyword arguments only (those of Emulator:"
            f" koala=KoalaOptions(...), openai=OpenAIOptions(...), keep_requests=N, ...),"
            f" got {len(marker.args)} positional"
        )
    return dict(marker.kwargs)


@pytest.fixture
def g4f_emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """A started :class:`~g4f_sync.emulator.Emulator` for this test, closed after it.

    At hand: ``.base_url`` (the OpenAI-compatible API, for ``Client(base_url=...)`` or
    openai-python), ``.client()`` (a :class:`g4f_sync.Client` for it),
    ``.provider(Koala)`` (a working provider bound to it), ``.requests`` (what it
    received), and each service's live options, whose ``fault`` injects a failure
    (``g4f_emulator.openai = OpenAIOptions(fault="rate_limit")``).
    """
    from .emulator import Emulator

    with Emulator(**emulator_arguments(request)) as emulator:
        yield emulator
