"""Final-answer extraction for the `<<<answer>>>` protocol (the paper's CodeSteer convention).

The verifier reads the *last* `<<<...>>>` in the model-written text. Interpreter output is never a
source of answers: callers pass the model's own text (the engine records it per segment).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator

ANSWER_INSTRUCTION = "Output the final answer directly at the end of your response in the format <<<answer>>>."

# An answer may span lines. `(?!>)`: an answer ending in ">" (a Dyck closing sequence "] ) >") written
# flush against the wrapper, "<<<] ) >>>>", keeps its last ">" instead of losing it to the first ">>>".
_OPEN_RE = re.compile(r"<{3,}")
_CLOSE_RE = re.compile(r">>>(?!>)")
_MAX_ANSWER_CHARS = 20_000


def _last(matches: Iterator[re.Match[str]]) -> re.Match[str] | None:
    tail = deque(matches, maxlen=1)
    return tail[0] if tail else None


def extract_answer(text: str | None) -> str | None:
    """The content of the last `<<<...>>>` in `text`, stripped; None if there is none.

    "Last" is read from the end: the last run of `<` (three or more) that a `>>>` closes after it, up to
    the first such `>>>`. Stray markers earlier in the text, unbalanced ones included (a Brainf*ck
    program quoted in a code turn, `>>>` prompts), cannot shift it the way a left-to-right scan would.
    """
    if not text:
        return None
    last_close = _last(_CLOSE_RE.finditer(text))
    if last_close is None:
        return None
    opening = _last(_OPEN_RE.finditer(text, 0, last_close.start()))
    if opening is None:
        return None
    start = opening.start() + 3
    close = _CLOSE_RE.search(text, start) or last_close  # never None: last_close follows start
    answer = text[start : close.start()].strip()
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
