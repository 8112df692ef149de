"""run_batch's progress display: where it shows (a notebook, a terminal, a log) and what.

A notebook is faked here (a kernel's shell, IPython's display, tqdm's notebook widget) to
check the choice and the calls; tests/test_jupyter.py runs the real thing in a kernel.
"""

from __future__ import annotations

import json
import subprocess
import sys
import types
from typing import Any, Dict, List, Optional, Tuple

import pytest

from g4f_sync import errors, run_batch
from g4f_sync.threaded import progress

Event = Tuple[str, str]


def fail() -> None:
    raise ValueError("failed")


class KernelShell:
    """Stands in for ipykernel's ``ZMQInteractiveShell``: it has a kernel."""

    kernel = object()


class TerminalShell:
    """Stands in for a terminal IPython's shell: no kernel."""


class DisplayHandle:
    def __init__(self, events: List[Event]) -> None:
        self.events = events

    def update(self, bundle: Dict[str, str], raw: bool = False) -> None:
        assert raw
        self.events.append(("update", bundle["text/plain"]))


def fake_ipython(monkeypatch: pytest.MonkeyPatch, shell: Any, kernel_loaded: bool = True) -> None:
    """Make IPython's ``get_ipython()`` return ``shell``, with ipykernel loaded or not."""
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: shell  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    if kernel_loaded:
        monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    else:
        monkeypatch.delitem(sys.modules, "ipykernel", raising=False)


def fake_notebook(monkeypatch: pytest.MonkeyPatch, widgets: bool = False) -> List[Event]:
    """A kernel whose ``IPython.display.display`` records what it is asked to show;
    ipywidgets installed or not. Returns the recorded display events."""
    fake_ipython(monkeypatch, KernelShell())
    events: List[Event] = []

    def display(bundle: Dict[str, str], raw: bool = False, display_id: bool = False) -> Any:
        assert raw and display_id
        events.append(("display", bundle["text/plain"]))
        return DisplayHandle(events)

    display_module = types.ModuleType("IPython.display")
    display_module.display = display  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython.display", display_module)
    ipywidgets = types.ModuleType("ipywidgets") if widgets else None  # None: not installed
    monkeypatch.setitem(sys.modules, "ipywidgets", ipywidgets)
    return events


class FakeBar:
    """Stands in for tqdm's bar; records what the display asked of it."""

    def __init__(self, total: Optional[int] = None, **kwargs: Any) -> None:
        self.total = total
        self.kwargs = kwargs
        self.n = 0
        self.postfix = dict(kwargs.get("postfix") or {})
        self.closed = False

    def update(self, n: int) -> None:
        self.n += n

    def set_postfix(self, **postfix: Any) -> None:
        self.postfix = postfix

    def close(self) -> None:
        self.closed = True


def fake_tqdm_notebook(monkeypatch: pytest.MonkeyPatch, refuse: bool = False) -> List[FakeBar]:
    """Make ``from tqdm.notebook import tqdm`` give a ``FakeBar`` (or raise ImportError
    when made, as tqdm does when it finds no ipywidgets); the terminal bar is missing."""
    bars: List[FakeBar] = []

    def tqdm(*args: Any, **kwargs: Any) -> FakeBar:
        if refuse:
            raise ImportError("IProgress not found. Please update jupyter and ipywidgets.")
        bars.append(FakeBar(*args, **kwargs))
        return bars[-1]

    notebook = types.ModuleType("tqdm.notebook")
    notebook.tqdm = tqdm  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tqdm", types.ModuleType("tqdm"))
    monkeypatch.setitem(sys.modules, "tqdm.notebook", notebook)
    return bars


@pytest.mark.parametrize(
    ("shell", "kernel_loaded", "expected"),
    [
        (KernelShell(), True, True),
        (KernelShell(), False, False),  # ipykernel not loaded: not in a kernel
        (TerminalShell(), True, False),  # a terminal IPython that imported ipykernel
        (None, True, False),  # IPython imported, but no shell running
    ],
)
def test_in_notebook_needs_a_kernels_shell(
    monkeypatch: pytest.MonkeyPatch, shell: Any, kernel_loaded: bool, expected: bool
) -> None:
    fake_ipython(monkeypatch, shell, kernel_loaded)
    assert progress.in_notebook() is expected


def test_in_notebook_is_false_without_ipython_and_when_get_ipython_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    assert progress.in_notebook() is False

    def broken() -> None:
        raise RuntimeError("no shell")

    ipython = types.ModuleType("IPython")
    ipython.get_ipython = broken  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    assert progress.in_notebook() is False


def test_notebook_without_widgets_shows_one_text_output_updated_in_place(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    events = fake_notebook(monkeypatch)
    fake_tqdm_notebook(monkeypatch)  # tqdm installed: still no widget without ipywidgets
    list(run_batch([lambda: 1, fail, lambda: 3]))  # progress=None: shown in a notebook
    assert events[0] == ("display", "0/3 done, 0 failed")
    assert [kind for kind, _ in events].count("display") == 1
    assert events[-1] == ("update", "3/3 done, 1 failed")
    assert capsys.readouterr().err == ""


def test_notebook_with_tqdm_and_ipywidgets_shows_tqdms_widget(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    events = fake_notebook(monkeypatch, widgets=True)
    bars = fake_tqdm_notebook(monkeypatch)
    list(run_batch([lambda: 1, fail]))
    [bar] = bars
    assert (bar.total, bar.n, bar.postfix, bar.closed) == (2, 2, {"failed": 1}, True)
    assert bar.kwargs == {"unit": "call", "postfix": {"failed": 0}}
    assert events == []  # the widget is the only display
    assert capsys.readouterr().err == ""


def test_notebook_falls_back_to_text_when_tqdm_cannot_make_its_widget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events = fake_notebook(monkeypatch, widgets=True)
    fake_tqdm_notebook(monkeypatch, refuse=True)
    list(run_batch([lambda: 1], progress=True))
    assert events[0] == ("display", "0/1 done, 0 failed")
    assert events[-1] == ("update", "1/1 done, 0 failed")


def test_notebook_text_line_counts_without_a_total(monkeypatch: pytest.MonkeyPatch) -> None:
    events = fake_notebook(monkeypatch)
    monkeypatch.setitem(sys.modules, "tqdm", None)
    list(run_batch(call for call in [fail, lambda: 2]))
    assert events[0] == ("display", "0 done, 0 failed")
    assert events[-1] == ("update", "2 done, 1 failed")


def test_progress_false_shows_nothing_in_a_notebook(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    events = fake_notebook(monkeypatch, widgets=True)
    bars = fake_tqdm_notebook(monkeypatch)
    list(run_batch([lambda: 1], progress=False))
    assert (events, bars, capsys.readouterr().err) == ([], [], "")


def test_terminal_ipython_is_not_a_notebook_and_a_log_gets_nothing_by_default(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_ipython(monkeypatch, TerminalShell(), kernel_loaded=False)
    assert progress.shown_by_default() is False  # stderr is captured: not a terminal
    list(run_batch([lambda: 1]))
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("value", ["yes", 1, 0])
def test_run_batch_refuses_a_progress_that_is_not_a_bool(value: Any) -> None:
    with pytest.raises(errors.InvalidRequestError) as caught:
        run_batch([lambda: 1], progress=value)
    assert str(caught.value) == (
        f"progress must be True, False or None (shown where someone watches), got {value!r}"
    )


def test_importing_g4f_sync_and_running_a_batch_loads_no_notebook_module() -> None:
    """The notebook check looks at ``sys.modules``; it imports nothing of Jupyter's."""
    code = (
        "import sys, json, g4f_sync; "
        "list(g4f_sync.run_batch([lambda: 1], progress=True)); "
        "print(json.dumps(sorted(m for m in ('IPython', 'ipykernel', 'ipywidgets', 'tqdm') "
        "if m in sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []
    assert done.stderr == "1/1 done, 0 failed\n"  # stderr is a pipe: the final line only
