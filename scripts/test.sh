#!/usr/bin/env bash
# Sets up .venv from scratch if needed, then runs ruff and the default test suite (slow tests excluded).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup_env.sh
export R1CI_DATA_DIR=${R1CI_DATA_DIR:-$(cd .. && pwd)/shared/data}
.venv/bin/ruff check src tests benchmarks
.venv/bin/python -m pytest "$@"
