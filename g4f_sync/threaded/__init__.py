"""Run blocking iterators and calls in worker threads.

``ThreadedStream`` moves one iterator into a worker thread and hands its items to the
consumer over a bounded buffer, for plain ``for`` loops and for ``async for``.
``run_batch`` runs many zero-argument calls on a bounded pool and yields one
``BatchResult`` per call. Nothing here knows about chat or HTTP.

Modules: ``stream`` (``ThreadedStream``), ``worker`` (the channel and the worker thread
body), ``exit_watcher`` (stops streams nobody can read once the main thread has ended),
``batch`` (``run_batch``, ``BatchResult``) and ``progress`` (``run_batch``'s display).

Importing this package stays light: asyncio, concurrent.futures and tqdm are imported
only by the features that use them.
"""

from __future__ import annotations

from .batch import BatchResult, run_batch
from .stream import ThreadedStream

__all__ = ["BatchResult", "ThreadedStream", "run_batch"]
