"""The child processes: a shared bytecode cache, the worker processes, and timed imports."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Sequence, Tuple

from .server import ROOT

__all__ = ["Job", "bytecode_cache", "collect", "run_worker", "time_import", "warm_up"]

WORKER_TIMEOUT = 300.0

Job = Tuple[str, str, List[Dict[str, Any]]]
"""``(reader, python, specs)``: specs for :mod:`benchmarks.worker`, run by ``python``."""


def _env() -> Dict[str, str]:
    return dict(os.environ, PYTHONPATH=ROOT, PYTHONUNBUFFERED="1")


@contextmanager
def bytecode_cache() -> Iterator[str]:
    """Give every child process one bytecode cache, in a temporary directory.

    An installed package has its ``.pyc`` files (pip compiles them), and so has
    requests; a checkout run with ``PYTHONDONTWRITEBYTECODE`` would compile g4f_sync on
    every import instead, which would count against its import time and memory. The
    cache lives outside the source tree (``PYTHONPYCACHEPREFIX``) and is warmed before
    anything is measured.
    """
    saved = {k: os.environ.get(k) for k in ("PYTHONPYCACHEPREFIX", "PYTHONDONTWRITEBYTECODE")}
    prefix = tempfile.mkdtemp(prefix="g4f_sync-benchmarks-pyc-")
    os.environ["PYTHONPYCACHEPREFIX"] = prefix
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    try:
        yield prefix
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(prefix, ignore_errors=True)


WARM_UP = (
    "import concurrent.futures, resource, requests, g4f_sync, g4f_sync.sse, g4f_sync.threaded,"
    " g4f_sync.emulator, benchmarks.worker"
)
REFERENCE_WARM_UP = "import concurrent.futures, resource, benchmarks.worker, g4f.client"


def warm_up(pythons: Sequence[str]) -> None:
    """Import what the workers import once in each interpreter, filling the cache."""
    for python in sorted(set(pythons)):
        code = WARM_UP if python == sys.executable else REFERENCE_WARM_UP
        subprocess.run([python, "-c", code], cwd=ROOT, env=_env(), capture_output=True)


def run_worker(python: str, specs: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Run ``specs`` in one fresh worker process; one result per spec."""
    command = [python, "-m", "benchmarks.worker", json.dumps(specs)]
    try:
        done = subprocess.run(
            command,
            cwd=ROOT,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=WORKER_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        return [{"error": f"worker timed out after {WORKER_TIMEOUT:g} s"} for _ in specs]
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        why = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return [{"error": f"worker exited {done.returncode}: {why}"} for _ in specs]
    return json.loads(lines[-1])  # type: ignore[no-any-return]


def collect(jobs: List[Job], batched: bool) -> Dict[str, List[Dict[str, Any]]]:
    """Run the jobs; results per reader, in spec order.

    Unbatched, each job gets its own process; batched, a reader's jobs share one.
    """
    results: Dict[str, List[Dict[str, Any]]] = {}
    if batched:
        merged: Dict[str, Tuple[str, List[Dict[str, Any]]]] = {}
        for reader, python, specs in jobs:
            merged.setdefault(reader, (python, []))[1].extend(specs)
        jobs = [(reader, python, specs) for reader, (python, specs) in merged.items()]
    for reader, python, specs in jobs:
        results.setdefault(reader, []).extend(run_worker(python, specs))
    return results


IMPORT_CODE = (
    "import time; t, c = time.perf_counter(), time.process_time(); import {module}; "
    "print(time.perf_counter() - t, time.process_time() - c)"
)


def time_import(python: str, module: str) -> Dict[str, float]:
    """Seconds ``import module`` takes in a fresh interpreter (wall and CPU), and the
    whole process's wall time."""
    start = time.perf_counter()
    done = subprocess.run(
        [python, "-c", IMPORT_CODE.format(module=module)],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    process = time.perf_counter() - start
    wall, cpu = map(float, done.stdout.split())
    return {"import_s": wall, "cpu_s": cpu, "process_s": process}
