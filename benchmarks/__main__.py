"""``python -m benchmarks``: see :func:`benchmarks.runner.main`."""

import sys

from .runner import main

if __name__ == "__main__":
    sys.exit(main())
