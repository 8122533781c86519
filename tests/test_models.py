"""The embedded GGUF's converted folder: its tokenizer is the GGUF's own, checkpoints carry it unchanged."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from r1ci.gguf_convert import gguf_tokenizer_metadata
from r1ci.models import embedded_gguf_path, load_tokenizer, save_tokenizer, tokenizer_files

TEXT = (
    "The answer is 5.\nYes  it is: 12345 + 0.5e-3 = x\n\tcafé naïve 日本語 🙂\n"
    "```python\nprint(sum(p for p in range(1000) if all(p % d for d in range(2, p))))\n```\n"
    "<<<76127>>> don't   trailing  \n"
)


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> printable character table (what byte-level BPE vocabularies are written in)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs), strict=True))


def reference_bpe_ids(text: str, tokens: list[str], merges: list[str]) -> list[int]:
    """A from-scratch byte-level BPE over the GGUF's vocabulary and merge ranks, with llama.cpp's
    `smollm` pre-tokenizer (single digits, then the GPT-2 split): an encoder independent of `tokenizers`."""
    import regex

    rank = {tuple(m.split(" ", 1)): i for i, m in enumerate(merges)}
    vocab = {t: i for i, t in enumerate(tokens)}
    table = _bytes_to_unicode()
    gpt2 = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")
    ids: list[int] = []
    for chunk in regex.split(r"(\p{N})", text):
        for word in gpt2.findall(chunk):
            parts = [table[b] for b in word.encode("utf-8")]
            while len(parts) > 1:
                pairs = [(rank.get((a, b), 1 << 30), k) for k, (a, b) in enumerate(itertools.pairwise(parts))]
                best, k = min(pairs)
                if best == 1 << 30:
                    break
                parts[k : k + 2] = [parts[k] + parts[k + 1]]
            ids.extend(vocab[p] for p in parts)
    return ids


@pytest.fixture(scope="module")
def gguf_meta() -> dict:
    return gguf_tokenizer_metadata(embedded_gguf_path())


def test_converted_tokenizer_matches_the_gguf_vocabulary(smollm2_dir: Path, gguf_meta: dict) -> None:
    tok = load_tokenizer(str(smollm2_dir))
    ids = tok(TEXT)["input_ids"]  # default call: no BOS may be added (the GGUF says add_bos_token false)
    assert ids == reference_bpe_ids(TEXT, gguf_meta["tokens"], gguf_meta["merges"])
    assert tok.decode(ids) == TEXT
    assert tok.decode(tok("The answer is 5.\nYes")["input_ids"]) == "The answer is 5.\nYes"


def test_special_tokens_and_chat_template_come_from_the_gguf(smollm2_dir: Path, gguf_meta: dict) -> None:
    tok = load_tokenizer(str(smollm2_dir))
    assert (tok.eos_token, tok.eos_token_id) == ("<|im_end|>", gguf_meta["eos"]) == ("<|im_end|>", 2)
    assert (tok.bos_token, tok.bos_token_id) == ("<|im_start|>", 1)
    assert tok.pad_token_id == gguf_meta["pad"]
    assert tok.encode("<|im_end|>", add_special_tokens=False) == [2]  # one control token, not text
    rendered = tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True)
    assert rendered.endswith("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n")
    config = json.loads((smollm2_dir / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] == "PreTrainedTokenizerFast"  # a name transformers 4 and 5 both read
    assert config["add_bos_token"] is False
    generation = json.loads((smollm2_dir / "generation_config.json").read_text())
    assert generation["eos_token_id"] == 2


def test_save_tokenizer_copies_the_source_files(smollm2_dir: Path, tmp_path: Path) -> None:
    tok = load_tokenizer(str(smollm2_dir))
    (tmp_path / "vocab.json").write_text("{}")  # a stale file from elsewhere must not survive
    save_tokenizer(tok, tmp_path)
    assert tokenizer_files(tmp_path) == tokenizer_files(smollm2_dir)
    assert set(tokenizer_files(tmp_path)) == {"tokenizer.json", "tokenizer_config.json"}
    from transformers import AutoTokenizer

    again = AutoTokenizer.from_pretrained(tmp_path)
    assert again(TEXT)["input_ids"] == tok(TEXT)["input_ids"]
