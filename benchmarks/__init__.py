"""g4f_sync's figures against the floors, in one command: ``python -m benchmarks``.

The emulator runs in a separate process (``python -m g4f_sync.emulator --port 0``), so
client and server never share a GIL; every measurement runs in a fresh worker process
(:mod:`benchmarks.worker`). Sections (``--only``): ``throughput``, ``latency``,
``concurrency``, ``import``, ``rss``; the report goes to stdout as markdown and to
``benchmarks/results/latest.{json,md,rst}``. How each figure is taken, and which statistic
is kept, is written in :mod:`benchmarks.runner` and :mod:`benchmarks.worker`.
"""
