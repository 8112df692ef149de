"""LiteLLM's proxy, a real OpenAI-compatible server nobody here wrote, on 127.0.0.1.

``ensure_litellm()`` installs ``litellm[proxy]==1.106.12`` (pinned exactly: newer
releases' ``proxy`` extra needs packages the registry does not serve, and 1.82.7/1.82.8
were compromised releases) into a virtual environment of its own, cached between runs in
``$XDG_CACHE_HOME/g4f_sync-interop/`` (``~/.cache`` by default; ``G4F_SYNC_LITELLM_VENV``
names another place). It is never a dependency of the package. ``LiteLLMProxy`` starts the
proxy with :data:`CONFIG` (models answering with ``mock_response``, so nothing leaves the
machine) and stops it by its process group.

``python tests/litellm_proxy.py`` installs it ahead of a test run.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional

from cached_install import cache_directory, install_lock

__all__ = [
    "CONFIG",
    "LITELLM_REQUIREMENT",
    "MASTER_KEY",
    "MOCK_TEXT",
    "LiteLLMProxy",
    "LiteLLMUnavailableError",
    "ensure_litellm",
]

LITELLM_REQUIREMENT = "litellm[proxy]==1.106.12"
MASTER_KEY = "sk-interop-master-0123456789"
MOCK_TEXT = "Hello from the litellm proxy mock."
"""What ``mock-gpt`` answers; LiteLLM streams it in three-character pieces."""

INSTALL_TIMEOUT = 900.0
START_TIMEOUT = 120.0
"""Seconds to wait for ``/health/liveliness``; 6 to 15 s is usual on two busy cores."""


def _model(name: str, mock_response: str) -> Dict[str, Any]:
    params = {"model": f"openai/{name}", "api_key": "x", "mock_response": mock_response}
    return {"model_name": name, "litellm_params": params}


CONFIG: Dict[str, Any] = {
    "model_list": [
        _model("mock-gpt", MOCK_TEXT),
        _model("mock-429", "litellm.RateLimitError"),
        _model("mock-500", "litellm.InternalServerError"),
    ],
    "general_settings": {
        "master_key": MASTER_KEY,
        # lets a request carry mock_delay: seconds before the first byte
        "dangerously_allow_mock_testing_request_params": True,
    },
    # LiteLLM retries a failed call itself by default (a 429 then takes about 5 s)
    "router_settings": {"num_retries": 0},
    "litellm_settings": {"num_retries": 0},
}
"""The proxy's configuration (JSON is YAML); ``model_list`` order is ``/v1/models``'."""

MODELS: List[str] = [entry["model_name"] for entry in CONFIG["model_list"]]


class LiteLLMUnavailableError(RuntimeError):
    """LiteLLM's proxy could not be installed or started: the message says why."""


def default_venv() -> Path:
    """Where the proxy's virtual environment is cached."""
    named = os.environ.get("G4F_SYNC_LITELLM_VENV")
    if named:
        return Path(named)
    return cache_directory("g4f_sync-interop", "litellm-1.106.12")


def _bin(venv: Path, name: str) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin") / name


def ensure_litellm(venv: Optional[Path] = None) -> Path:
    """The ``litellm`` command of a complete install in ``venv``, installing it first if it
    is missing or was interrupted (a marker file is written last). Raises
    :class:`LiteLLMUnavailableError` with pip's last lines when the install fails."""
    venv = venv or default_venv()
    marker = venv / ".g4f_sync-installed"
    command = _bin(venv, "litellm")
    with install_lock(venv):
        if marker.is_file() and marker.read_text() == LITELLM_REQUIREMENT and command.exists():
            return command
        shutil.rmtree(venv, ignore_errors=True)
        log = venv.parent / f"{venv.name}-install.log"
        steps = [
            [sys.executable, "-m", "venv", str(venv)],
            [str(_bin(venv, "python")), "-m", "pip", "install", "--disable-pip-version-check",
             "--only-binary=:all:", LITELLM_REQUIREMENT],
        ]  # fmt: skip
        with open(log, "w") as output:
            for step in steps:
                print(f"interop: {' '.join(step)} (log: {log})", file=sys.stderr, flush=True)
                try:
                    done = subprocess.run(
                        step, stdout=output, stderr=subprocess.STDOUT, timeout=INSTALL_TIMEOUT
                    )
                except subprocess.TimeoutExpired as exc:
                    took = f"`{step[-1]}` took over {INSTALL_TIMEOUT:.0f} s"
                    raise LiteLLMUnavailableError(took) from exc
                if done.returncode != 0:
                    raise LiteLLMUnavailableError(
                        f"`{' '.join(step[-2:])}` failed ({done.returncode}):\n{_tail(log)}"
                    )
        if not command.exists():
            raise LiteLLMUnavailableError(f"{LITELLM_REQUIREMENT} installed no {command}")
        marker.write_text(LITELLM_REQUIREMENT)
        return command


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(no log: {exc})"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LiteLLMProxy:
    """The proxy in a process group of its own, serving :data:`CONFIG` on 127.0.0.1.

    ``with LiteLLMProxy(command) as proxy:`` starts it and waits until it answers;
    ``proxy.base_url`` is what an OpenAI client takes. Leaving stops it (SIGTERM, then
    SIGKILL after 10 s) and removes its files.
    """

    def __init__(self, command: Path) -> None:
        self.command = command
        self.port = 0
        self._process: Optional[subprocess.Popen[bytes]] = None
        self._directory = Path(tempfile.mkdtemp(prefix="g4f_sync-litellm-"))
        self.log = self._directory / "litellm.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def __enter__(self) -> LiteLLMProxy:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start the proxy and wait for ``/health/liveliness``; a port taken between the
        choice and the bind is tried again with another."""
        config = self._directory / "config.yaml"
        config.write_text(json.dumps(CONFIG, indent=2))
        for _ in range(3):
            self.port = _free_port()
            self._spawn(config)
            if self._wait_until_alive():
                return
            self._stop_process()
            if "address already in use" not in _tail(self.log, 40).lower():
                break
        raise LiteLLMUnavailableError(f"LiteLLM's proxy did not start:\n{_tail(self.log, 40)}")

    def _spawn(self, config: Path) -> None:
        environment = {
            **os.environ,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # else it downloads a cost map
            "LITELLM_TELEMETRY": "False",
            "NO_PROXY": "127.0.0.1,localhost",
        }
        arguments = [str(self.command), "--config", str(config), "--host", "127.0.0.1"]
        with open(self.log, "wb") as log:
            self._process = subprocess.Popen(
                [*arguments, "--port", str(self.port)],
                cwd=self._directory,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _wait_until_alive(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(self.url + "/health/liveliness", timeout=1) as answer:
                    if answer.status == 200:
                        return True
            except OSError:
                pass
            time.sleep(0.2)
        return False

    def _stop_process(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            try:
                process.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def stop(self) -> None:
        """Stop the proxy's process group and remove its directory."""
        self._stop_process()
        shutil.rmtree(self._directory, ignore_errors=True)


if __name__ == "__main__":
    print(ensure_litellm())
