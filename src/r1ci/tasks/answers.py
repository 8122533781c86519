"""Final-answer extraction for the `<<<answer>>>` protocol (the paper's CodeSteer convention).

The verifier reads the *last* `<<<...>>>` in the model-written text. Interpreter output is never a
source of answers: callers pass the model's own text (the engine records it per segment).
"""

from __future__ import annotations

import re

ANSWER_INSTRUCTION = "Output the final answer directly at the end of your response in the format <<<answer>>>."

# Non-greedy, allows newlines; the last match wins. Bounded to keep hostile input linear-time-ish.
# `(?!>)`: an answer ending in ">" (a Dyck closing sequence "] ) >") written flush against the wrapper,
# "<<<] ) >>>>", keeps its last ">" instead of losing it to the first ">>>".
_ANSWER_RE = re.compile(r"<<<(.*?)>>>(?!>)", re.DOTALL)
_MAX_ANSWER_CHARS = 20_000


def extract_answer(text: str | None) -> str | None:
    """The content of the last `<<<...>>>` in `text`, stripped; None if there is none."""
    if not text:
        return None
    matches = _ANSWER_RE.findall(text)
    if not matches:
        return None
    answer = matches[-1].strip()
    if len(answer) > _MAX_ANSWER_CHARS:
        return None
    return answer


def has_answer(text: str | None) -> bool:
    return extract_answer(text) is not None


def normalize_text(s: str) -> str:
    """Case/whitespace/quote-insensitive form for exact-match comparisons."""
    s = s.strip().strip("\"'`").strip()
    s = re.sub(r"\s+", " ", s)
    return s.lower()


def wrap_answer(answer: str) -> str:
    """`<<<answer>>>`, with a space before the closing `>>>` when the answer itself ends in `>`.

    The first `>>>` closes the wrapper (extraction and the rollout engine's stop both read it so),
    so an answer such as the Dyck completion `] >` must be written `<<<] > >>>`, not `<<<] >>>>`.
    """
    answer = answer.strip()
    return f"<<<{answer} >>>" if answer.endswith(">") else f"<<<{answer}>>>"
