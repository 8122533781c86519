"""The code-interpreter protocol: prompts, code-block detection, stop rules and output wrapping.

The format follows the paper (R1-Code-Interpreter): the model reasons in text and, when it
chooses, writes Python in a fenced block. Generation stops when the block closes; the block runs in
the sandbox and its output is appended *to the same assistant turn*, after which the model goes on:

    ...model text...
    ```python
    print(6 * 7)
    ```
    Code Execution Results:
    ```output
    42
    ```
    ...model continues... <<<42>>>

Exact wrapper (`format_interpreter_output`): a newline if the model text does not already end with
one, then ``Code Execution Results:\\n```output\\n{output}\\n```\\n``. `{output}` is stdout, then
stderr, then a status line for timeouts/memory kills, cut to `max_output_chars` (head and tail kept,
the middle replaced by a marker). After the last allowed code turn a notice asks for a text answer.

A code block opens with ```` ```python ```` (or ```` ```py ````) at the end of a line and closes at the next
line that starts with ```` ``` ````. Only the first block of a turn runs; the turn stops there. The final
answer is the last `<<<...>>>` in the model's own text (never in interpreter output).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Protocol

from pydantic import Field

from r1ci.config import StrictModel

Mode = Literal["ci", "text"]

OUTPUT_MARKER = "Code Execution Results:"
OUTPUT_FENCE_OPEN = "```output\n"
OUTPUT_FENCE_CLOSE = "```\n"
NO_OUTPUT = "(no output)"
CODE_STOP_STRING = "```\n"
"""What string-stopping backends (vLLM, OpenAI) stop on. A bare "```" would also match the opening
"```python", so the closing fence is recognised by the newline after it."""
ANSWER_STOP_STRING = ">>>"

SYSTEM_PROMPT_CI = (
    "You are a helpful assistant that solves problems by reasoning step by step and, whenever it helps, "
    "by writing and running Python code.\n"
    "To run code, write it in a block that starts with ```python and ends with ```. Each block is executed "
    "as soon as it closes, and its printed output appears right after it under "
    f'"{OUTPUT_MARKER}". Use print() to see values. You may run code at most {{max_code_turns}} times; '
    "after that, answer in text.\n"
    "Check your reasoning against the execution results, then give the final answer at the end of your "
    "response in the format <<<answer>>>."
)
SYSTEM_PROMPT_TEXT = (
    "You are a helpful assistant that solves problems by reasoning step by step in text. "
    "Do not write code: no code will be run.\n"
    "Give the final answer at the end of your response in the format <<<answer>>>."
)
MAX_TURNS_NOTICE = (
    "You have used all {max_code_turns} code executions. Do not write more code; "
    "give the final answer in text now.\n"
)


RL_SAMPLING: dict[str, object] = {"temperature": 1.0, "stop_at_answer": False}
"""How RL and its curriculum estimate sample, where that differs from `RolloutConfig`'s evaluation
defaults (greedy, stop at the first answer): explore at temperature 1, and run to the end of turn so
self-checks after an answer count and the policy learns to stop."""


class RolloutConfig(StrictModel):
    """Settings of one multi-turn rollout (defaults follow the paper where it says, else common practice)."""

    mode: Mode = "ci"
    """"ci": code blocks run in the sandbox; "text": the same prompt minus the interpreter (paper's baseline)."""
    max_code_turns: int = Field(5, ge=0)
    """Code executions per answer (paper: 5). After the last one the model is told to answer in text;
    a further closed code block ends the rollout with stop_reason "max_turns"."""
    max_new_tokens: int = Field(1024, ge=1)
    """Budget of the whole completion (model + interpreter tokens): bounds training sequence length."""
    max_tokens_per_turn: int = Field(512, ge=1)
    """Budget of one model turn (text up to a closed code block or the end)."""
    temperature: float = Field(0.0, ge=0.0)
    """0 = greedy."""
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    exec_timeout_s: float = Field(10.0, gt=0.0)
    exec_memory_mb: int = Field(1024, ge=16)
    max_output_chars: int = Field(2000, ge=64)
    """Interpreter output longer than this is cut (head and tail kept) before the model sees it."""
    system_prompt: str | None = None
    """None = the protocol default for the mode; may contain `{max_code_turns}`."""
    stop_at_answer: bool = True
    """Stop a sequence as soon as it closes `<<<...>>>` outside code (saves tokens on rambling models).
    Set False when synthesising SFT data so the teacher's end-of-turn token is kept in the ids."""
    persistent_state: bool = False
    """Keep Python state across the code turns of one trajectory (a sandbox session, like a Jupyter
    kernel: variables, imports and files persist; the session is frozen between turns and closed when
    the trajectory ends). Off = every code block runs in a fresh interpreter, as in the paper."""


def system_prompt(cfg: RolloutConfig) -> str:
    template = cfg.system_prompt
    if template is None:
        template = SYSTEM_PROMPT_CI if cfg.mode == "ci" else SYSTEM_PROMPT_TEXT
    return template.replace("{max_code_turns}", str(cfg.max_code_turns))


def build_messages(prompt: str, cfg: RolloutConfig | None = None) -> list[dict[str, str]]:
    """Chat messages for one question: the protocol's system prompt, then the task's user prompt."""
    cfg = cfg or RolloutConfig()
    return [{"role": "system", "content": system_prompt(cfg)}, {"role": "user", "content": prompt}]


# --- code-block and answer detection -------------------------------------------------------------

_OPEN_RE = re.compile(r"```[ \t]*(?:python3?|py)[ \t]*\n", re.IGNORECASE)
_CLOSE_RE = re.compile(r"\n[ \t]*```")
_ANSWER_RE = re.compile(r"<<<(.*?)>>>", re.DOTALL)


@dataclass(frozen=True)
class CodeBlock:
    code: str
    start: int
    """Index of the opening fence in the scanned text."""
    end: int
    """Index just past the closing fence."""


def _blocks(text: str) -> tuple[list[CodeBlock], int | None]:
    """Closed python blocks in order, and the start of a still-open block (None if none is open)."""
    blocks: list[CodeBlock] = []
    pos = 0
    while True:
        m = _OPEN_RE.search(text, pos)
        if m is None:
            return blocks, None
        # Search from the opening's own newline so an empty block ("```python\n```") closes too.
        c = _CLOSE_RE.search(text, m.end() - 1)
        if c is None:
            return blocks, m.start()
        code = text[m.end() : c.start()] if c.start() >= m.end() else ""
        blocks.append(CodeBlock(code=code, start=m.start(), end=c.end()))
        pos = c.end()


def find_code_block(text: str) -> CodeBlock | None:
    """The first closed python block in `text` (what the engine executes), or None."""
    blocks, _ = _blocks(text)
    return blocks[0] if blocks else None


def has_open_code_block(text: str) -> bool:
    return _blocks(text)[1] is not None


def prose(text: str) -> str:
    """`text` without its python blocks (closed ones and a trailing open one)."""
    blocks, open_at = _blocks(text)
    parts, pos = [], 0
    for b in blocks:
        parts.append(text[pos : b.start])
        pos = b.end
    parts.append(text[pos : open_at if open_at is not None else len(text)])
    return "".join(parts)


def _answer_end(text: str) -> int | None:
    """Index just past the first `<<<...>>>` written outside code, or None."""
    blocks, open_at = _blocks(text)
    spans = [(b.start, b.end) for b in blocks]
    if open_at is not None:
        spans.append((open_at, len(text)))
    for m in _ANSWER_RE.finditer(text):
        if not any(s <= m.start() < e for s, e in spans):
            return m.end()
    return None


StopKind = Literal["code", "answer"]


@dataclass(frozen=True)
class StopEvent:
    kind: StopKind
    end: int
    """Index in the scanned text just past the event (closing fence / closing `>>>`)."""
    code: str | None = None


@dataclass(frozen=True)
class StopRules:
    """When a model turn ends, besides end-of-turn tokens and length.

    Token-level backends (HF, scripted) call `event` as text grows and stop at the first hit;
    string-level backends (vLLM, OpenAI) stop on `stop_strings` and the engine re-checks with `event`
    (a string hit that is no event, e.g. ">>>" inside code, just continues the turn).
    """

    code: bool
    answer: bool

    def event(self, text: str) -> StopEvent | None:
        """The earliest stop event in one turn's model text, or None."""
        found: list[StopEvent] = []
        if self.code:
            block = find_code_block(text)
            if block is not None:
                found.append(StopEvent("code", block.end, block.code))
        if self.answer:
            end = _answer_end(text)
            if end is not None:
                found.append(StopEvent("answer", end))
        return min(found, key=lambda e: e.end) if found else None

    def stop_strings(self) -> list[str]:
        out = []
        if self.code:
            out.append(CODE_STOP_STRING)
        if self.answer:
            out.append(ANSWER_STOP_STRING)
        return out

    def may_trigger(self, piece: str) -> bool:
        """Cheap pre-check for token-level backends: could appending `piece` complete an event?"""
        return (self.code and "`" in piece) or (self.answer and ">" in piece)


def stop_rules(cfg: RolloutConfig) -> StopRules:
    return StopRules(code=cfg.mode == "ci", answer=cfg.stop_at_answer)


# --- interpreter output ----------------------------------------------------------------------------


class ExecResultLike(Protocol):
    """The parts of `r1ci.sandbox.ExecutionResult` the protocol reads (fakes in tests match it)."""

    stdout: str
    stderr: str
    status: str
    truncated: bool


_STATUS_LINES = {
    "timeout": "TimeoutError: the code ran longer than the time limit and was stopped.",
    "memory": "MemoryError: the code exceeded the memory limit and was stopped.",
    "killed": "Error: the code was killed by the sandbox.",
}


def clip_output(text: str, max_chars: int) -> str:
    """Keep the head and tail of long output; the middle is replaced by a marker saying how much went."""
    if len(text) <= max_chars:
        return text
    marker = "\n...[{n} characters omitted]...\n"
    room = max(0, max_chars - len(marker.format(n=len(text))))
    head = room * 2 // 3
    tail = room - head
    omitted = len(text) - head - tail
    return text[:head] + marker.format(n=omitted) + (text[len(text) - tail :] if tail else "")


def output_body(result: ExecResultLike, max_output_chars: int) -> str:
    parts = []
    if result.stdout.strip():
        parts.append(result.stdout.rstrip("\n"))
    if result.stderr.strip():
        parts.append(result.stderr.rstrip("\n"))
    status_line = _STATUS_LINES.get(result.status)
    if status_line:
        parts.append(status_line)
    body = "\n".join(parts) if parts else NO_OUTPUT
    if result.truncated:
        body += "\n...[output truncated by the sandbox]"
    return clip_output(body, max_output_chars)


def format_interpreter_output(
    result: ExecResultLike,
    max_output_chars: int = 2000,
    *,
    after: str = "",
    notice: str | None = None,
) -> str:
    """The interpreter segment appended after a closed code block.

    `after` is the model text it follows (only its last character matters: a newline is inserted
    unless it already ends with one). `notice` is appended after the output block (max-turns notice).
    """
    lead = "" if (not after or after.endswith("\n")) else "\n"
    text = f"{lead}{OUTPUT_MARKER}\n{OUTPUT_FENCE_OPEN}{output_body(result, max_output_chars)}\n{OUTPUT_FENCE_CLOSE}"
    if notice:
        text += notice
    return text


def max_turns_notice(cfg: RolloutConfig) -> str:
    return MAX_TURNS_NOTICE.format(max_code_turns=cfg.max_code_turns)

