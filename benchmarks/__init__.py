"""g4f_sync's figures against the floors, in one command: ``python -m benchmarks``.

The emulator runs in a separate process (``python -m g4f_sync.emulator --port 0``), so
client and server never share a GIL; every measurement runs in a fresh worker process
(:mod:`benchmarks.worker`). Sections (``--only``): ``throughput``, ``latency``,
``concurrency``, ``import``, ``rss``. The throughput and latency sections also read the
emulator's OpenAI-compatible stream (``/v1/chat/completions``, the same tokens as Koala's)
with the OpenAI provider and the Client over it, against the same floors and the floors
of that stream (requests and a raw socket reading it). The report goes to stdout as
markdown and to ``benchmarks/results/latest.{json,md,rst}`` (``partial.*`` when ``--only``
leaves a section out). How each figure is taken, and which statistic is kept, is written
in :mod:`benchmarks.sections` and :mod:`benchmarks.worker`.

The modules: :mod:`~benchmarks.runner` (the command line and the run),
:mod:`~benchmarks.config` (what a run measures), :mod:`~benchmarks.sections` (each
section's measurement), :mod:`~benchmarks.processes` (the child processes),
:mod:`~benchmarks.targets` (the targets table), :mod:`~benchmarks.report` (markdown and
reStructuredText), :mod:`~benchmarks.output` (the files written);
:mod:`~benchmarks.worker`, :mod:`~benchmarks.readers` and :mod:`~benchmarks.server` run in
and for the child processes.
"""
