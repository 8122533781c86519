#!/usr/bin/env bash
# Sets up .venv from scratch if needed, then runs the end-to-end demo on the embedded SmolLM2-135M.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup_env.sh
export R1CI_DATA_DIR=${R1CI_DATA_DIR:-$(cd .. && pwd)/shared/data}
exec .venv/bin/r1ci demo "$@"
