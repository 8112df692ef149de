"""How much memory an in-process ``Emulator`` keeps per request served: the traced growth
over N Koala streams once WARM have run (the request record fills up to its bound during
the warm-up, so the growth after it is what a long test run or a demo server adds).

    python -m benchmarks.emulator_memory [N] [WARM]     # default: 2000 1100

Prints the growth in MiB and bytes per stream, and the records kept. The figure's goal:
no growth once the record is full (before the bound: about 6.4 KB per stream, forever).
"""

from __future__ import annotations

import gc
import sys
import tracemalloc
from typing import List, Optional

from g4f_sync.emulator import Emulator, KoalaOptions
from g4f_sync.Provider import Koala

MESSAGES = [{"role": "user", "content": "Hi there"}]


def main(argv: Optional[List[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    count = int(args[0]) if args else 2000
    warm = int(args[1]) if len(args) > 1 else 1100
    tracemalloc.start()
    with Emulator(koala=KoalaOptions(tokens=["a", "b", "c"])) as emu:
        koala = emu.provider(Koala)
        for _ in range(warm):
            list(koala.create_completion("", MESSAGES))
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(count):
            list(koala.create_completion("", MESSAGES))
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
        print(
            f"{count} streams after {warm}: {grown / 2**20:+.2f} MiB traced"
            f" ({grown / count:.0f} B/stream); records kept: {len(emu.requests)}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
