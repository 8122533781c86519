"""GGUF file -> Hugging Face model folder (dense float32 safetensors + a tokenizer read from the GGUF).

Weights go through transformers' own GGUF loader. The tokenizer does not: transformers' GGUF
tokenizer converter writes byte-level BPE vocabularies (SmolLM2, Qwen, Llama 3 GGUFs) as a
`LlamaTokenizer` with `add_bos_token: true` and the BOS as EOS, which transformers 5 then rebuilds
as a SentencePiece-style tokenizer that drops every space. So for `tokenizer.ggml.model == "gpt2"`
the tokenizer is built here from the GGUF's own tokens, merges, special-token ids, pre-tokenizer
name and chat template, with the `tokenizers` library, and saved as a plain `tokenizer.json` +
`tokenizer_config.json` (`tokenizer_class: PreTrainedTokenizerFast`), which transformers 4 and 5
both load as exactly that `tokenizer.json`. Other GGUF tokenizers (SentencePiece `llama`) keep
transformers' converter, with the special tokens corrected from the GGUF's ids.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
    "added_tokens.json",
    "vocab.json",
    "merges.txt",
    "tokenizer.model",
)
"""Files that make up a saved tokenizer (whichever of them a folder has)."""

# llama.cpp pre-tokenizer names whose regex splits numbers into single digits (`\p{N}` first).
_DIGIT_SPLIT_PRE = frozenset({"smollm", "starcoder", "refact", "deepseek-coder", "gpt-4o"})
_CONTROL = 3  # gguf TokenType.CONTROL
_USER_DEFINED = 4


def _field(reader: Any, key: str, default: Any = None) -> Any:
    f = reader.fields.get(key)
    return default if f is None else f.contents()


def gguf_tokenizer_metadata(gguf: Path) -> dict[str, Any]:
    """The tokenizer part of a GGUF's metadata (`tokenizer.ggml.*`, chat template)."""
    from gguf import GGUFReader

    reader = GGUFReader(str(gguf))
    return {
        "model": _field(reader, "tokenizer.ggml.model"),
        "pre": _field(reader, "tokenizer.ggml.pre"),
        "tokens": _field(reader, "tokenizer.ggml.tokens", []),
        "token_type": _field(reader, "tokenizer.ggml.token_type", []),
        "merges": _field(reader, "tokenizer.ggml.merges", []),
        "bos": _field(reader, "tokenizer.ggml.bos_token_id"),
        "eos": _field(reader, "tokenizer.ggml.eos_token_id"),
        "unk": _field(reader, "tokenizer.ggml.unknown_token_id"),
        "pad": _field(reader, "tokenizer.ggml.padding_token_id"),
        "add_bos": bool(_field(reader, "tokenizer.ggml.add_bos_token", False)),
        "add_space_prefix": bool(_field(reader, "tokenizer.ggml.add_space_prefix", False)),
        "chat_template": _field(reader, "tokenizer.chat_template"),
        "context_length": _field(reader, f"{_field(reader, 'general.architecture')}.context_length"),
    }


def _byte_level_tokenizer(meta: dict[str, Any]) -> Any:
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

    tokens: list[str] = list(meta["tokens"])
    vocab = {t: i for i, t in enumerate(tokens)}
    merges = [tuple(m.split(" ", 1)) for m in meta["merges"]]
    tk = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False))
    steps = [pre_tokenizers.ByteLevel(add_prefix_space=meta["add_space_prefix"], use_regex=True)]
    if meta["pre"] in _DIGIT_SPLIT_PRE:
        steps.insert(0, pre_tokenizers.Digits(individual_digits=True))
    tk.pre_tokenizer = pre_tokenizers.Sequence(steps)
    tk.decoder = decoders.ByteLevel()
    if meta["add_bos"] and meta["bos"] is not None:
        bos = tokens[meta["bos"]]
        tk.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, meta["bos"])]
        )
    else:
        tk.post_processor = processors.ByteLevel(trim_offsets=False)
    types = list(meta["token_type"])
    tk.add_tokens([AddedToken(tokens[i], special=False, normalized=False)
                   for i, t in enumerate(types) if t == _USER_DEFINED])
    tk.add_special_tokens([AddedToken(tokens[i], special=True, normalized=False)
                           for i, t in enumerate(types) if t == _CONTROL])
    return tk


def _special(meta: dict[str, Any], key: str) -> str | None:
    i = meta[key]
    return None if i is None or not 0 <= i < len(meta["tokens"]) else str(meta["tokens"][i])


def write_gguf_tokenizer(gguf: Path, out: Path) -> None:
    """Write the GGUF's tokenizer into folder `out` (see the module docstring)."""
    meta = gguf_tokenizer_metadata(gguf)
    specials = {f"{k}_token": _special(meta, k) for k in ("bos", "eos", "unk", "pad")}
    specials = {k: v for k, v in specials.items() if v is not None}
    out.mkdir(parents=True, exist_ok=True)
    if meta["model"] == "gpt2":
        _byte_level_tokenizer(meta).save(str(out / "tokenizer.json"))
        config: dict[str, Any] = {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "add_bos_token": meta["add_bos"],
            "add_eos_token": False,
            "clean_up_tokenization_spaces": False,
            "model_max_length": int(meta["context_length"] or 2048),
            **specials,
        }
        if meta["chat_template"]:
            config["chat_template"] = meta["chat_template"]
        (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
        return
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name, **specials)
    tok.clean_up_tokenization_spaces = False
    tok.save_pretrained(out)


def write_gguf_model(gguf: Path, out: Path) -> None:
    """Dequantise the GGUF's weights into float32 safetensors in folder `out`."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    model.hf_quantizer = None  # weights are already dense; the GGUF marker would block save_pretrained
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out)


def convert_gguf(gguf: Path, out: Path) -> Path:
    """GGUF file -> HF folder `out` (weights, config, generation config, tokenizer)."""
    write_gguf_model(gguf, out)
    write_gguf_tokenizer(gguf, out)
    return out
