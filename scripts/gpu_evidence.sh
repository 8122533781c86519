#!/usr/bin/env bash
# GPU evidence in one short lease (about 10 minutes on one H200): SFT, uniform vs curriculum GRPO at GPU
# batch sizes, greedy evaluation of every arm on the same 300+ fresh questions with 95% intervals and paired
# differences, GPU memory and tokens/s. Everything lands in $OUT (or --out):
#   report.md  summary.json  outcomes.jsonl  device.json  experiment.log  reward_curves.png
#
#   scripts/gpu_evidence.sh --model MODEL          # on the GPU machine (MODEL: HF folder or .gguf)
#   scripts/gpu_evidence.sh --dry-run              # CPU, tiny random model, a few minutes: checks the wiring
#
# The lent machine has torch, transformers, peft, accelerate (no vllm, trl, gguf, internet). The script first
# installs any wheels carried in .whl/ (pydantic, reasoning-gym, gguf, ...: see the device README's pip
# download line) into /tmp/site. A model larger than one call's 64 MiB travels in parts over several calls:
#   here:   split -b 60M model.gguf .gpu/part_        (one part per call in a carried .gpu/ folder)
#   there:  mkdir -p /tmp/model && cp .gpu/part_* /tmp/model/      (one call per part, machine kept warm)
#   last:   scripts/gpu_evidence.sh --model-parts /tmp/model     (concatenates them into /tmp/model.gguf)
set -euo pipefail
cd "$(dirname "$0")/.."

dry_run=0
model=""
parts=""
out="${OUT:-runs/gpu-evidence}"
budget_s=${R1CI_GPU_BUDGET_S:-540}
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry_run=1 ;;
    --model) model="$2"; shift ;;
    --model-parts) parts="$2"; shift ;;
    --out) out="$2"; shift ;;
    --budget-s) budget_s="$2"; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "gpu_evidence.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

py=${PYTHON:-}
if [ -z "$py" ]; then
  if [ -x .venv/bin/python ]; then py=.venv/bin/python; else py=python3; fi
fi
if ls .whl/*.whl >/dev/null 2>&1; then
  "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
mkdir -p "$out"
# The run folder (checkpoints: gigabytes) stays outside $OUT; only the evidence files are copied there.
run="${R1CI_GPU_RUN_DIR:-/tmp/r1ci-gpu-evidence-run}"

overrides=()
if [ "$dry_run" = 1 ]; then
  # A 2-layer random Llama with SmolLM2's tokenizer: real tokenisation, seconds of compute, no GPU needed.
  model="$out/tiny-model"
  "$py" - "$model" <<'PY'
import sys
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig

from r1ci.models import resolve_model_path

out = Path(sys.argv[1])
if not (out / "config.json").exists():
    tok = AutoTokenizer.from_pretrained(resolve_model_path("default"))
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, tie_word_embeddings=True)
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(cfg).save_pretrained(out)
    tok.save_pretrained(out)
PY
  # the GPU recipe's shape at toy size; band [0, 1]: a random model solves nothing
  overrides=(-o synth_tasks=[number_multiply] -o synth.questions_per_task=2 -o sft.train.precision=auto
             -o sft.train.micro_batch_size=1 -o sft.train.eval_fraction=0.0 -o "pilot.tasks=[number_multiply, count_bits]"
             -o pilot.difficulties=[2] -o pilot.questions_per_candidate=2 -o pilot.rollouts=2 -o "pilot.band=[0.0, 1.0]"
             -o pilot.rollout.max_new_tokens=16 -o rl.grpo.group_size=2 -o rl.grpo.questions_per_step=1
             -o rl.optim.precision=auto -o rl.rollout.max_new_tokens=16 -o rl.curriculum.steps_per_stage=1
             -o rl.train.max_steps=2 -o rl.train.save_every=1 -o eval.questions=4 -o eval.test_questions_per_task=1
             -o "eval.test_tasks=[statistical_counting]" -o eval.max_new_tokens=16 -o backend=hf -o pilot_backend=hf
             -o rl.generation.backend=hf)
elif [ -n "$parts" ]; then
  cat "$parts"/part_* > /tmp/model.gguf
  model=/tmp/model.gguf
fi
if [ -z "$model" ]; then
  echo "gpu_evidence.sh: pass --model MODEL (HF folder or .gguf), --model-parts DIR, or --dry-run" >&2
  exit 2
fi

"$py" - "$out" <<'PY' || true
import json, sys, torch
info = {"cuda": torch.cuda.is_available(), "torch": torch.__version__}
if info["cuda"]:
    p = torch.cuda.get_device_properties(0)
    info.update(gpu=p.name, memory_gib=p.total_memory / 2**30)
json.dump(info, open(f"{sys.argv[1]}/machine.json", "w"), indent=2)
print("machine:", info)
PY

# Resumable: a second call with the same --out continues where the first stopped (lease ran out).
resume=()
[ -d "$run" ] && resume=(--resume)
start=$(date +%s)
set +e
timeout "$budget_s" "$py" -m r1ci.cli experiment --config configs/experiment_gpu.yaml --model "$model" \
  --out "$run" "${resume[@]}" "${overrides[@]}" 2>&1 | tee "$out/experiment.log"
rc=${PIPESTATUS[0]}
set -e
echo "experiment exit $rc after $(( $(date +%s) - start )) s" | tee -a "$out/experiment.log"
# What comes back from the device is at most 8 files, two folders down: copy the evidence up to $out.
for f in report.md summary.json outcomes.jsonl device.json; do
  [ -f "$run/$f" ] && cp "$run/$f" "$out/$f"
done
[ -f "$run/plots/reward_curves.png" ] && cp "$run/plots/reward_curves.png" "$out/reward_curves.png"
[ -f "$run/timings.json" ] && cp "$run/timings.json" "$out/timings.json"
if [ "$dry_run" = 1 ]; then
  rm -rf "$model"
fi
exit "$rc"
