"""Shared fixtures: a tiny random causal LM (fast) and the real embedded SmolLM2 folder (slower)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def smollm2_dir() -> Path:
    """HF folder of the embedded SmolLM2-135M-Instruct (converted from its GGUF once, then cached)."""
    from r1ci.models import resolve_model_path

    return Path(resolve_model_path("default"))


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, smollm2_dir: Path) -> Path:
    """A 2-layer random Llama with SmolLM2's tokenizer and chat template: real tokenisation, fast compute."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig

    tok = AutoTokenizer.from_pretrained(smollm2_dir)
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(cfg)
    out = tmp_path_factory.mktemp("tiny-llama")
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def data_root() -> Path:
    from r1ci.paths import data_root as root

    path = root()
    if not (path / "bbh").exists():
        pytest.skip(f"reference data not found under {path}; set R1CI_DATA_DIR to the shared data folder")
    return path


@pytest.fixture(scope="session", autouse=True)
def second_sandbox_service() -> Iterator[object]:
    """With R1CI_TEST_SECOND_SERVE=1 (CI sets it), another `r1ci sandbox serve` runs on this machine for
    the whole session and executes code now and then, so the suite proves it does not depend on being
    the only r1ci here (leak checks, ports, sandbox uids). Without the variable it does nothing."""
    if os.environ.get("R1CI_TEST_SECOND_SERVE") != "1":
        yield None
        return
    import json
    import socket
    import subprocess
    import sys
    import threading
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "r1ci.cli", "sandbox", "serve", "--port", str(port),
                             "--workers", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/run_code"
    body = json.dumps({"code": "print(sum(range(10)))", "language": "python"}).encode()

    def run_once() -> bool:
        try:
            req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=30) as resp:
                return b"45" in resp.read()
        except OSError:
            return False

    deadline = time.monotonic() + 60
    while not run_once():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the second `r1ci sandbox serve` (port {port}) did not come up")
        time.sleep(0.5)
    stop = threading.Event()

    def keep_busy() -> None:  # its sandboxes come and go while the suite runs
        while not stop.wait(5.0):
            run_once()

    busy = threading.Thread(target=keep_busy, daemon=True)
    busy.start()
    yield proc
    stop.set()
    busy.join(timeout=35)
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
