"""Fork-server sandbox vs fresh `python -c` subprocesses on the same mixed snippets.

    python benchmarks/sandbox_bench.py --n 200 [--workers W] [--leak-check 10000]

A thin wrapper over `r1ci sandbox bench` (logic in r1ci.sandbox.bench).
"""

from __future__ import annotations

import sys

from r1ci.cli.sandbox import app

if __name__ == "__main__":
    sys.exit(app(["bench", *sys.argv[1:]]))
