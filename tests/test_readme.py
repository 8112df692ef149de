"""The README runs: every Python example, in order, in one namespace, offline, in a fresh
interpreter and as the cells of a notebook in a real kernel; and its example test module
passes under pytest.

Which literal blocks of README.rst are Python (the convention the README follows):

- ``.. code-block:: python`` (or ``py``, ``python3``): Python.
- ``.. code-block:: <anything else>`` (``text``, ``shell``, ``console``, ...): shown, not run.
- A literal block after a paragraph ending in ``::`` (or a lone ``::``): a shell command
  when its first word is one of :data:`SHELL_COMMANDS`, else Python. A block that is
  neither (its code does not parse as Python) fails this test: mark it
  ``.. code-block:: text`` (an output, a diagram) or make it Python.
- A Python block that defines a top-level ``test_*`` function is a test module: it is run
  by pytest on its own (the ``g4f_emulator`` fixture coming through the plugin's entry
  point), not in the examples' namespace.

Every other Python block runs, in the README's order, in one namespace (the first one,
the setup block, starts the emulator), with top-level ``await`` run as a notebook cell
does. Sockets may reach only the loopback: a name or address elsewhere raises.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from support import ROOT, junit_outcomes, run_pytest

README = ROOT / "README.rst"

SHELL_COMMANDS = frozenset({"python", "python3", "pip", "g4f-sync", "pytest", "ruff"})
"""First words that make a bare ``::`` block a shell command."""

PYTHON_LANGUAGES = frozenset({"python", "py", "python3"})

FRESH_MACHINE_COMMANDS = (
    "python3 -m venv .venv && . .venv/bin/activate && pip install . && g4f-sync demo",
    "python3 -m venv .venv && . .venv/bin/activate && pip install '.[test]' && python -m pytest",
)
"""The quick start's two commands, which stay exactly as they are."""

_DIRECTIVE = re.compile(r"\.\.\s+(?:code-block|code|sourcecode)::\s*(\S*)\s*$")

OFFLINE_GUARD = """
import socket

LOOPBACK = {"127.0.0.1", "::1", "localhost", None}


def _refuse(where):
    raise OSError(f"the README's examples run offline; they tried to reach {where!r}")


_getaddrinfo = socket.getaddrinfo


def _loopback_getaddrinfo(host, *args, **kwargs):
    if (host.decode() if isinstance(host, bytes) else host) not in LOOPBACK:
        _refuse(host)
    return _getaddrinfo(host, *args, **kwargs)


def _guarded(method):
    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in LOOPBACK:
            _refuse(address)
        return method(self, address)

    return connect


socket.getaddrinfo = _loopback_getaddrinfo
socket.socket.connect = _guarded(socket.socket.connect)
socket.socket.connect_ex = _guarded(socket.socket.connect_ex)
"""
"""Installed before any example runs: only the loopback can be reached."""

RUNNER = """
import ast, asyncio, inspect, json, sys

if __name__ == "__main__":  # not again in the worker processes an example starts (spawn)
    exec(compile(open(sys.argv[1]).read(), "offline_guard.py", "exec"), {})
    namespace = {"__name__": "__main__"}
    for block in json.load(open(sys.argv[2])):
        source = "\\n" * (block["line"] - 1) + block["code"]  # tracebacks name README lines
        code = compile(source, "README.rst", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        result = eval(code, namespace)
        if inspect.iscoroutine(result):  # top-level await, as in a notebook cell
            asyncio.run(result)
        print(f"README.rst:{block['line']} ran", file=sys.stderr, flush=True)
"""


@dataclass(frozen=True)
class Block:
    """A literal block of the README."""

    line: int
    """The line of its first line of code."""
    language: Optional[str]
    """The ``code-block`` language, or None for a bare ``::`` block."""
    code: str
    kind: str
    """``python``, ``pytest`` (a test module), ``shell``, ``other`` (another language
    declared) or ``unclassified`` (a bare block neither shell nor Python)."""
    why: str = ""


def _indentation(line: str) -> int:
    return len(line) - len(line.lstrip())


def literal_blocks(text: str) -> List[Block]:
    """The literal blocks of reStructuredText ``text``: ``code-block`` directives and
    the blocks after a paragraph ending in ``::``, each classified."""
    lines = text.splitlines()
    blocks: List[Block] = []
    index = 0
    while index < len(lines):
        stripped = lines[index].strip()
        directive = _DIRECTIVE.match(stripped)
        if directive is None and not (stripped.endswith("::") and not stripped.startswith("..")):
            index += 1
            continue
        indent = _indentation(lines[index])
        end = index + 1
        if directive is not None:  # skip the directive's options (":linenos:", ...)
            while end < len(lines) and lines[end].strip().startswith(":"):
                end += 1
        while end < len(lines) and not lines[end].strip():
            end += 1
        start = end
        while end < len(lines) and (not lines[end].strip() or _indentation(lines[end]) > indent):
            end += 1
        if end == start:  # no indented block follows: "::" was text
            index += 1
            continue
        code = textwrap.dedent("\n".join(lines[start:end])).strip("\n") + "\n"
        language = directive.group(1).lower() or "text" if directive is not None else None
        blocks.append(_classified(start + 1, language, code))
        index = end
    return blocks


def _classified(line: int, language: Optional[str], code: str) -> Block:
    if language is not None and language not in PYTHON_LANGUAGES:
        return Block(line, language, code, "other")
    if language is None and code.split()[0] in SHELL_COMMANDS:
        return Block(line, language, code, "shell")
    try:
        tree = ast.parse(code)
    except SyntaxError as error:
        return Block(line, language, code, "unclassified", f"{error.msg} (line {error.lineno})")
    tests = [
        node.name
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.name.startswith("test_")
    ]
    return Block(line, language, code, "pytest" if tests else "python", ", ".join(tests))


@pytest.fixture(scope="module")
def blocks() -> List[Block]:
    return literal_blocks(README.read_text(encoding="utf-8"))


def test_every_block_is_python_or_marked_as_something_else(blocks: List[Block]) -> None:
    unclassified = [f"README.rst:{b.line}: {b.why}" for b in blocks if b.kind == "unclassified"]
    assert unclassified == [], (
        "literal blocks that are neither Python nor a shell command: fix the code, or mark"
        " an output or a diagram with '.. code-block:: text'"
    )


def test_the_fresh_machine_commands_stay_as_they_are(blocks: List[Block]) -> None:
    shell = [b.code.strip() for b in blocks if b.kind == "shell"]
    assert shell[:2] == list(FRESH_MACHINE_COMMANDS)


def test_the_examples_run_in_order_offline(blocks: List[Block], tmp_path: Path) -> None:
    python = [{"line": b.line, "code": b.code} for b in blocks if b.kind == "python"]
    assert "Emulator().start()" in python[0]["code"], "the setup block comes first"
    (tmp_path / "offline_guard.py").write_text(OFFLINE_GUARD, encoding="utf-8")
    (tmp_path / "blocks.json").write_text(json.dumps(python), encoding="utf-8")
    (tmp_path / "runner.py").write_text(RUNNER, encoding="utf-8")
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "OLLAMA_HOST")
    }
    done = subprocess.run(
        [sys.executable, "runner.py", "offline_guard.py", "blocks.json"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=180,
    )
    ran = [line for line in done.stderr.splitlines() if line.endswith(" ran")]
    assert done.returncode == 0, done.stdout + done.stderr
    assert ran == [f"README.rst:{block['line']} ran" for block in python]


def test_the_examples_run_as_notebook_cells(blocks: List[Block], tmp_path: Path) -> None:
    """Each Python block one cell of a notebook, in a real kernel (ipykernel on this
    interpreter, from a kernel spec of its own): it runs as in a script."""
    kernels = tmp_path / "kernels" / "g4f-sync-readme"
    kernels.mkdir(parents=True)
    kernel = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "README examples",
        "language": "python",
        "env": {"IPYTHONDIR": str(tmp_path / "ipython")},
    }
    (kernels / "kernel.json").write_text(json.dumps(kernel), encoding="utf-8")
    python = [b for b in blocks if b.kind == "python"]
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(OFFLINE_GUARD)]
    notebook.cells += [nbformat.v4.new_code_cell(b.code) for b in python]
    sockets = tempfile.mkdtemp(prefix="g4f-readme-")  # short: Unix socket paths are limited
    try:
        manager = KernelManager(
            kernel_name="g4f-sync-readme",
            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels.parent)]),
            transport="ipc",
            ip=os.path.join(sockets, "kernel"),
        )
        NotebookClient(notebook, km=manager, timeout=60).execute()  # raises on an error
    finally:
        shutil.rmtree(sockets, ignore_errors=True)
    failed = [
        f"README.rst:{block.line}: {output['ename']}: {output['evalue']}"
        for block, cell in zip(python, notebook.cells[1:])
        for output in cell.outputs
        if output["output_type"] == "error"
    ]
    assert failed == []
    assert all(cell.get("execution_count") for cell in notebook.cells)


def test_the_example_test_module_passes_under_pytest(blocks: List[Block], tmp_path: Path) -> None:
    modules = [b for b in blocks if b.kind == "pytest"]
    assert modules, "the README shows a test module using the g4f_emulator fixture"
    (tmp_path / "conftest.py").write_text(OFFLINE_GUARD, encoding="utf-8")
    for block in modules:
        (tmp_path / f"test_readme_line_{block.line}.py").write_text(block.code, encoding="utf-8")
    done = run_pytest(tmp_path, "--strict-markers", "--junitxml=report.xml")
    expected = {name: "passed" for b in modules for name in b.why.split(", ")}
    assert junit_outcomes(tmp_path / "report.xml") == expected, done.stdout + done.stderr


def test_the_guard_refuses_anything_but_the_loopback(tmp_path: Path) -> None:
    (tmp_path / "offline_guard.py").write_text(OFFLINE_GUARD, encoding="utf-8")
    code = (
        "exec(open('offline_guard.py').read())\n"
        "import requests\n"
        "try:\n"
        "    requests.get('https://koala.sh/chat', timeout=5)\n"
        "except Exception as error:\n"
        "    print(type(error).__name__, error)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert "the README's examples run offline; they tried to reach 'koala.sh'" in done.stdout


SAMPLE = """\
Intro::

    from g4f_sync import Client
    client = Client()

- In a list::

      pip install g4f_sync

.. list-table::
   :header-rows: 1

   * - not a block

::

    g4f-sync demo

A figure:

.. code-block:: text

    G4FError
    └── ...

.. code-block:: python
   :name: with-options

    def test_it(g4f_emulator):
        pass

Output::

    Traceback (most recent call last):

A paragraph that ends in a colon: not a block.
"""


def test_the_convention_on_a_sample() -> None:
    found = [(b.line, b.language, b.kind) for b in literal_blocks(SAMPLE)]
    assert found == [
        (3, None, "python"),
        (8, None, "shell"),
        (17, None, "shell"),
        (23, "text", "other"),
        (29, "python", "pytest"),
        (34, None, "unclassified"),
    ]
    assert literal_blocks(SAMPLE)[1].code == "pip install g4f_sync\n"
