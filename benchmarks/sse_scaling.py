"""How ``g4f_sync.sse.iter_events`` scales: small events, one event of many ``data:``
lines, one long line. In-memory chunks only (no network); prints a table.

Run from the repository root::

    python -m benchmarks.sse_scaling              # sizes 1, 4 and 8 MiB
    python -m benchmarks.sse_scaling --mib 1 2    # other sizes

Each figure is the best of ``--repeat`` runs (a run longer than 2 s is not repeated).
Linear parsing shows as a flat MB/s column as the size grows.
"""

from __future__ import annotations

import argparse
import time
from typing import Callable, Iterator, List, Sequence, Tuple

from g4f_sync.sse import iter_events

MIB = 1024 * 1024
CHUNK = 64 * 1024
TOKEN = b'data: {"choices":[{"delta":{"content":"tok"}}]}\n\n'
LINE = b"data: " + b"x" * 57 + b"\n"  # 64 bytes


def in_chunks(stream: bytes, size: int = CHUNK) -> List[bytes]:
    return [stream[i : i + size] for i in range(0, len(stream), size)]


def tokens(count: int, batched: bool) -> List[bytes]:
    """``count`` small events: one per chunk, or packed into 64 KiB chunks."""
    return in_chunks(TOKEN * count) if batched else [TOKEN] * count


def many_lines(mib: int, line_per_chunk: bool) -> List[bytes]:
    """One event of ``mib`` MiB made of 64-byte ``data:`` lines."""
    lines = [LINE] * (mib * MIB // len(LINE)) + [b"\n"]
    return lines if line_per_chunk else in_chunks(b"".join(lines))


def long_line(mib: int) -> List[bytes]:
    """One event of one ``data:`` line of ``mib`` MiB, in 64 KiB chunks."""
    return in_chunks(b"data: " + b"x" * (mib * MIB) + b"\n\n")


def best(run: Callable[[], int], repeat: int) -> Tuple[float, int]:
    """The fastest of ``repeat`` runs (seconds) and what one run returned."""
    times: List[float] = []
    result = 0
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
        if times[-1] > 2:
            break
    return min(times), result


def parse(chunks: List[bytes]) -> Callable[[], int]:
    def run() -> int:
        return sum(1 for _event in iter_events(chunks))

    return run


def cases(sizes: Sequence[int], count: int) -> Iterator[Tuple[str, List[bytes], int]]:
    """(name, chunks, events expected)."""
    yield f"{count:,} small events, one per chunk", tokens(count, False), count
    yield f"{count:,} small events, 64 KiB chunks", tokens(count, True), count
    for mib in sizes:
        yield f"{mib} MiB event of data lines, 64 KiB chunks", many_lines(mib, False), 1
    for mib in sizes:
        yield f"{mib} MiB event of data lines, a line per chunk", many_lines(mib, True), 1
    for mib in sizes:
        yield f"{mib} MiB line, 64 KiB chunks", long_line(mib), 1


def main(argv: Sequence[str] = ()) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, nargs="+", default=[1, 4, 8], help="event sizes")
    parser.add_argument("--events", type=int, default=100_000, help="small events")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (best kept)")
    args = parser.parse_args(argv or None)
    print(f"| {'case':<48} | {'chunks':>9} | {'seconds':>8} | {'MB/s':>7} | {'us/event':>9} |")
    print(f"|{'-' * 50}|{'-' * 11}:|{'-' * 9}:|{'-' * 8}:|{'-' * 10}:|")
    for name, chunks, expected in cases(args.mib, args.events):
        size = sum(map(len, chunks))
        seconds, events = best(parse(chunks), args.repeat)
        assert events == expected, (name, events)
        per_event = f"{seconds / events * 1e6:9.3f}" if events > 1 else f"{'':>9}"
        print(
            f"| {name:<48} | {len(chunks):>9,} | {seconds:8.3f} "
            f"| {size / seconds / 1e6:7.1f} | {per_event} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
