"""g4f_sync in a real Jupyter kernel: the same calls as in a script, and the kernel's event
loop left exactly as a fresh kernel has it (the reference applies nest_asyncio to it).

The kernel is ipykernel on this interpreter (``sys.executable``), started from a kernel
spec written to a temporary directory, so no kernel spec needs installing and one the
user installed cannot interfere. The emulator runs in its own process, like a server.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any, Dict, Iterator, List, Sequence

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from notebook_extras import ensure_notebook_extras

import g4f_sync
from g4f_sync.emulator import EmulatorProcess

PACKAGE_PARENT = Path(g4f_sync.__file__).resolve().parents[1]
KERNEL_NAME = "g4f-sync-test"
CELL_TIMEOUT = 60

ASYNCIO_RUN = "asyncio.run(asyncio.sleep(0))"
RUNNING_LOOP_ERROR = "asyncio.run() cannot be called from a running event loop"

SETUP = """
import functools, json, sys, threading
import g4f_sync
from g4f_sync import ThreadedStream, run_batch
from g4f_sync.Provider import Koala

class LocalKoala(Koala):
    url = URL + "/chat"
    api_endpoint = URL + "/api/gpt/"
    working = True

class BrokenKoala(LocalKoala):
    api_endpoint = URL + "/api/gpt/?fault=server_error"

def ask(text):
    return [{"role": "user", "content": text}]

def answer(text, provider=LocalKoala):
    return "".join(provider.create_completion("", ask(text), max_retries=0))
"""

STREAMING = """
tokens = []
for token in LocalKoala.create_completion("", ask("streaming in a notebook")):
    tokens.append(token)
print(json.dumps(tokens))
"""

NON_STREAMING = """
print(json.dumps(list(LocalKoala.create_completion("", ask("one string please"), stream=False))))
"""

CLIENT_STREAMING = """
client = g4f_sync.Client(LocalKoala)
with client.chat.completions.create(ask("client streaming here"), "", stream=True) as chunks:
    print(json.dumps([
        [chunk.choices[0].delta.content, chunk.choices[0].finish_reason] for chunk in chunks
    ]))
"""

CLIENT_NON_STREAMING = """
response = client.chat.completions.create(ask("client in one piece"), "")
legacy = g4f_sync.ChatCompletion.create("", ask("legacy in one piece"), provider=LocalKoala)
print(json.dumps([response.choices[0].message.content, response.choices[0].finish_reason, legacy]))
"""

THREADED_STREAM = """
source = functools.partial(LocalKoala.create_completion, "", ask("tokens from a worker thread"))
with ThreadedStream(source) as stream:
    print(json.dumps(list(stream)))
"""

BATCH = """
calls = [functools.partial(answer, f"batch question {i}") for i in range(5)]
calls.append(functools.partial(answer, "fails", BrokenKoala))
results = list(run_batch(calls, max_workers=4))
print(json.dumps([
    [r.index, r.value if r.ok else type(r.error).__name__] for r in results
]))
"""

# The worker cannot fetch until a second task has run on the loop: if ``async for``
# blocked the loop while waiting, that task could not run and the source would fail.
ASYNC_FOR = """
import asyncio
loop_was_free = threading.Event()

def koala_once_the_loop_ran():
    if not loop_was_free.wait(10):
        raise RuntimeError("the event loop was blocked while async for waited")
    yield from LocalKoala.create_completion("", ask("async for in a cell"))

async def consume():
    async with ThreadedStream(koala_once_the_loop_ran) as stream:
        return [token async for token in stream]

async def mark_loop_free():
    loop_was_free.set()

async_tokens, _ = await asyncio.gather(consume(), mark_loop_free())
print(json.dumps(async_tokens))
"""

PROGRESS_CELL = """
calls = [functools.partial(answer, f"progress {i}") for i in range(7)]
calls.append(functools.partial(answer, "fails", BrokenKoala))
for result in run_batch(calls, max_workers=2):  # progress shown by default in a notebook
    print(result.index)
"""

WITHOUT_IPYWIDGETS = 'sys.modules["ipywidgets"] = None  # imports now fail: as if not installed'
WITHOUT_TQDM = 'sys.modules["tqdm"] = None'

EXTRAS = """
import ipywidgets, tqdm
from g4f_sync.threaded.progress import in_notebook
print(json.dumps([tqdm.__version__, ipywidgets.__version__, in_notebook()]))
"""

NO_THREAD_LEFT = """
for thread in threading.enumerate():
    if thread.name.startswith("g4f_sync."):
        thread.join(10)
print(json.dumps([t.name for t in threading.enumerate() if t.name.startswith("g4f_sync.")]))
"""

LOOP_STATE = """
import asyncio, json, sys
loop = asyncio.get_running_loop()
print(json.dumps({
    "nest_asyncio loaded": "nest_asyncio" in sys.modules,
    "nest_asyncio2 loaded": "nest_asyncio2" in sys.modules,
    "loop class": f"{type(loop).__module__}.{type(loop).__qualname__}",
    "loop patched": hasattr(loop, "_nest_patched"),
    "asyncio patched": hasattr(asyncio, "_nest_patched"),
    "asyncio.run from": asyncio.run.__module__,
}))
"""


def code_cell(source: str, *, raises: bool = False) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(textwrap.dedent(source).strip())
    if raises:
        cell.metadata["tags"] = ["raises-exception"]  # nbclient goes on past this error
    return cell


def stdout_json(cell: nbformat.NotebookNode) -> Any:
    """The JSON a cell printed (its stdout, which must hold nothing else)."""
    text = "".join(
        output["text"]
        for output in cell.outputs
        if output["output_type"] == "stream" and output["name"] == "stdout"
    )
    return json.loads(text)


def errors_of(cell: nbformat.NotebookNode) -> List[Dict[str, str]]:
    return [
        {"ename": output["ename"], "evalue": output["evalue"]}
        for output in cell.outputs
        if output["output_type"] == "error"
    ]


def stderr_of(cell: nbformat.NotebookNode) -> str:
    return "".join(
        output["text"]
        for output in cell.outputs
        if output["output_type"] == "stream" and output["name"] == "stderr"
    )


def write_kernel_spec(directory: Path, extra_paths: Sequence[Path] = ()) -> Path:
    """A kernel spec running ipykernel on this interpreter, importing this g4f_sync (and
    whatever ``extra_paths`` hold), with its own IPython directory (no profile or startup
    script of the user's); the directory of kernel specs to give the kernel manager."""
    kernels = directory / "kernels"
    spec = kernels / KERNEL_NAME
    spec.mkdir(parents=True)
    paths = [str(PACKAGE_PARENT), *map(str, extra_paths), os.environ.get("PYTHONPATH")]
    kernel = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "g4f_sync test kernel",
        "language": "python",
        "env": {
            "PYTHONPATH": os.pathsep.join(filter(None, paths)),
            "IPYTHONDIR": str(directory / "ipython"),
        },
    }
    (spec / "kernel.json").write_text(json.dumps(kernel))
    return kernels


def displays_of(cell: nbformat.NotebookNode) -> List[nbformat.NotebookNode]:
    return [output for output in cell.outputs if output["output_type"] == "display_data"]


def shows_one_updated_text_line(cell: nbformat.NotebookNode, text: str) -> bool:
    """The cell's first output is a text display holding ``text`` now (so it was updated
    in place after the prints that follow it), and nothing else is displayed."""
    first = cell.outputs[0]
    return (
        displays_of(cell) == [first]
        and dict(first["data"]) == {"text/plain": text}
        and all(output["output_type"] == "stream" for output in cell.outputs[1:])
    )


def widget_state(notebook: nbformat.NotebookNode, model_id: str) -> Dict[str, Any]:
    """The state nbclient recorded for a widget model (as a front end would restore it)."""
    models = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]
    return dict(models["state"][model_id]["state"])


@pytest.fixture
def kernel_spec_dir(tmp_path: Path) -> Path:
    """The kernel spec of :func:`write_kernel_spec`, with the test environment's packages."""
    return write_kernel_spec(tmp_path)


@pytest.fixture
def emulator_url() -> Iterator[str]:
    """Serve the emulator from another process; its URL."""
    with EmulatorProcess() as emulator:
        yield emulator.url


@pytest.fixture
def socket_dir() -> Iterator[str]:
    """A short directory for the kernel's Unix sockets (their paths have a length limit)."""
    path = tempfile.mkdtemp(prefix="g4f-kernel-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def run_notebook(cells: List[nbformat.NotebookNode], kernels: Path, cwd: Path, sockets: str) -> Any:
    """Execute ``cells`` in a new kernel; the executed notebook. A cell that raises
    fails the run unless tagged ``raises-exception``.

    Where there are Unix sockets, the kernel listens on those: TCP ports are picked
    free and bound later by the kernel, a race that parallel test runs can lose."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = cells
    transport: Dict[str, str] = {}
    if sys.platform != "win32":
        transport = {"transport": "ipc", "ip": os.path.join(sockets, "kernel")}
    manager = KernelManager(
        kernel_name=KERNEL_NAME,
        kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)]),
        **transport,
    )
    client = NotebookClient(
        notebook,
        km=manager,
        timeout=CELL_TIMEOUT,
        kernel_name=KERNEL_NAME,
        resources={"metadata": {"path": str(cwd)}},
    )
    client.execute()
    return notebook


def test_notebook_streams_batches_and_leaves_the_event_loop_alone(
    kernel_spec_dir: Path, emulator_url: str, socket_dir: str, tmp_path: Path
) -> None:
    sdk_cells = [
        code_cell(f"URL = {emulator_url!r}\n" + textwrap.dedent(SETUP)),
        code_cell(STREAMING),
        code_cell(NON_STREAMING),
        code_cell(CLIENT_STREAMING),
        code_cell(CLIENT_NON_STREAMING),
        code_cell(THREADED_STREAM),
        code_cell(BATCH),
        code_cell(ASYNC_FOR),
        code_cell(NO_THREAD_LEFT),
        code_cell(LOOP_STATE),
        code_cell(ASYNCIO_RUN, raises=True),
    ]
    (
        _,
        streaming,
        non_streaming,
        client_streaming,
        client_non_streaming,
        threaded,
        batch,
        async_for,
        threads_left,
        sdk_state,
        sdk_run,
    ) = run_notebook(sdk_cells, kernel_spec_dir, tmp_path, socket_dir).cells

    assert stdout_json(streaming) == ["streaming ", "in ", "a ", "notebook"]
    assert stdout_json(non_streaming) == ["one string please"]
    assert stdout_json(client_streaming) == [
        ["client ", None],
        ["streaming ", None],
        ["here", None],
        [None, "stop"],
    ]
    assert stdout_json(client_non_streaming) == [
        "client in one piece",
        "stop",
        "legacy in one piece",
    ]
    assert stdout_json(threaded) == ["tokens ", "from ", "a ", "worker ", "thread"]
    assert stdout_json(batch) == [
        *([i, f"batch question {i}"] for i in range(5)),
        [5, "InternalServerError"],
    ]
    assert stdout_json(async_for) == ["async ", "for ", "in ", "a ", "cell"]
    assert stdout_json(threads_left) == []
    sdk_calls = (streaming, non_streaming, client_streaming, client_non_streaming, threaded, batch)
    for cell in (*sdk_calls, async_for):
        assert stderr_of(cell) == ""
    assert len(displays_of(batch)) == 1  # its progress, on by default in a notebook

    fresh_cells = [code_cell(LOOP_STATE), code_cell(ASYNCIO_RUN, raises=True)]
    fresh_state, fresh_run = run_notebook(fresh_cells, kernel_spec_dir, tmp_path, socket_dir).cells

    state = stdout_json(sdk_state)
    assert state == stdout_json(fresh_state)
    assert not state["nest_asyncio loaded"]
    assert not state["loop patched"] and not state["asyncio patched"]
    assert state["asyncio.run from"] == "asyncio.runners"

    expected = [{"ename": "RuntimeError", "evalue": RUNNING_LOOP_ERROR}]
    assert errors_of(fresh_run) == expected
    assert errors_of(sdk_run) == expected


BATCH_PRINTS = "".join(f"{index}\n" for index in range(8))


@pytest.fixture(scope="module")
def notebook_extras() -> Path:
    """A directory holding tqdm and ipywidgets (installed on first use, then cached)."""
    return ensure_notebook_extras()


def test_batch_progress_in_a_notebook_is_one_widget_or_one_updating_text_line(
    notebook_extras: Path, emulator_url: str, socket_dir: str, tmp_path: Path
) -> None:
    """In a kernel that has tqdm and ipywidgets: tqdm's widget; without ipywidgets (tqdm
    still there), then without either: one text output updated in place. Never stderr."""
    kernels = write_kernel_spec(tmp_path, [notebook_extras])
    cells = [
        code_cell(f"URL = {emulator_url!r}\n" + textwrap.dedent(SETUP)),
        code_cell(EXTRAS),
        code_cell(PROGRESS_CELL),
        code_cell(WITHOUT_IPYWIDGETS + "\n" + textwrap.dedent(PROGRESS_CELL)),
        code_cell(WITHOUT_TQDM + "\n" + textwrap.dedent(PROGRESS_CELL)),
    ]
    notebook = run_notebook(cells, kernels, tmp_path, socket_dir)
    _, extras, widget, without_ipywidgets, without_either = notebook.cells

    assert stdout_json(extras) == ["4.67.1", "8.1.7", True]
    for cell in (widget, without_ipywidgets, without_either):
        assert stderr_of(cell) == ""  # neither tqdm's warnings nor its "\r" lines
        streams = [output for output in cell.outputs if output["output_type"] == "stream"]
        assert "".join(output["text"] for output in streams) == BATCH_PRINTS

    [view] = displays_of(widget)
    assert view is widget.outputs[0]  # shown before the first result was printed
    model_id = view["data"]["application/vnd.jupyter.widget-view+json"]["model_id"]
    box = widget_state(notebook, model_id)
    assert box["_model_name"] == "HBoxModel"
    parts = [widget_state(notebook, child.replace("IPY_MODEL_", "")) for child in box["children"]]
    [bar] = [part for part in parts if part["_model_name"] == "FloatProgressModel"]
    assert (bar["value"], bar["max"]) == (8, 8)
    right = [part["value"] for part in parts if part["_model_name"] == "HTMLModel"][-1]
    right = html.unescape(right).replace("\u2007", " ")  # tqdm pads with figure spaces
    assert right.strip().startswith("8/8 [") and right.endswith(", failed=1]")

    assert shows_one_updated_text_line(without_ipywidgets, "8/8 done, 1 failed")
    assert shows_one_updated_text_line(without_either, "8/8 done, 1 failed")
