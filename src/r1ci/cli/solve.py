"""`r1ci solve "question"`: one question through the code-interpreter loop, shown turn by turn."""

from __future__ import annotations

import json
import re
from pathlib import Path

import typer
from rich.console import Console, Group
from rich.panel import Panel
from rich.syntax import Syntax
from rich.text import Text

from r1ci.cli.common import OverrideOpt
from r1ci.config import build_config
from r1ci.rollout.backends import BACKENDS, Backend, get_backend
from r1ci.rollout.engine import ExecutorLike, OnSegment, run_rollouts
from r1ci.rollout.protocol import RolloutConfig, find_code_block
from r1ci.rollout.trajectory import Segment, Trajectory
from r1ci.tasks.answers import extract_answer, normalize_text
from r1ci.tasks.base import Grade, Question, with_instruction

console = Console()
_OUTPUT_RE = re.compile(r"```output\n(.*?)\n```\n?(.*)", re.DOTALL)


# Flags each backend understands; any other backend flag given is an error, not silently ignored.
_BACKEND_FLAGS: dict[str, set[str]] = {
    "hf": {"device"},
    "vllm": set(),
    "openai": {"base_url", "api", "api_key_env", "tokenizer", "concurrency"},
    "scripted": {"script"},
}


def backend_from_flags(name: str, model: str, **flags: str | int | None) -> Backend:
    """`get_backend` from the command's flat flags (None = not given)."""
    if name not in _BACKEND_FLAGS:
        raise ValueError(f"unknown backend {name!r}; choose one of {sorted(BACKENDS)}")
    given = {k: v for k, v in flags.items() if v is not None}
    wrong = sorted(k for k in given if k not in _BACKEND_FLAGS[name])
    if wrong:
        names = ", ".join("--" + k.replace("_", "-") for k in wrong)
        raise ValueError(f"{names} do(es) not apply to the {name} backend")
    return get_backend(name, model, **given)


def adhoc_grader(question: Question, model_text: str) -> Grade:
    """For a free-form question: exact match (case/space-insensitive) against `question.answer` if given."""
    extracted = extract_answer(model_text)
    if question.answer is None:
        return Grade(0.0, "no gold answer given", extracted)
    if extracted is None:
        return Grade(0.0, "no <<<answer>>> found in completion", None)
    ok = normalize_text(extracted) == normalize_text(question.answer)
    return Grade(1.0 if ok else 0.0, "correct" if ok else "wrong", extracted)


def solve(
    backend: Backend,
    question: str,
    cfg: RolloutConfig,
    *,
    answer: str | None = None,
    executor: ExecutorLike | None = None,
    on_segment: OnSegment | None = None,
) -> Trajectory:
    """One free-form question through the full loop. The answer-format instruction is appended unless
    the question already asks for `<<<...>>>`."""
    prompt = question if "<<<" in question else with_instruction(question)
    q = Question(id="adhoc/0", task="adhoc", prompt=prompt, answer=answer, metadata={"source": "adhoc"})
    (traj,) = run_rollouts(
        backend, [q], cfg, executor=executor, grader=adhoc_grader, progress=False, on_segment=on_segment
    )
    return traj


def _model_panel(seg: Segment, turn: int) -> Panel:
    """Model text, with its executed code block (if any) syntax-highlighted."""
    block = find_code_block(seg.text)
    if block is None:
        body: Text | Group = Text(seg.text)
    else:
        parts: list[Text | Syntax] = []
        before, after = seg.text[: block.start].strip(), seg.text[block.end :].strip()
        if before:
            parts.append(Text(before))
        code = Syntax(block.code, "python", theme="ansi_dark", line_numbers=False)
        parts.append(Panel(code, title="python", border_style="blue", title_align="left"))
        if after:
            parts.append(Text(after))
        body = Group(*parts)
    return Panel(body, title=f"model · turn {turn}", border_style="cyan", title_align="left")


def _interpreter_panel(seg: Segment) -> Panel:
    """The output block's body (marker and fences dropped), then any notice after it."""
    m = _OUTPUT_RE.search(seg.text)
    body = (m.group(1) + ("\n\n" + m.group(2).strip() if m.group(2).strip() else "")) if m else seg.text.strip()
    return Panel(Text(body), title="interpreter output", border_style="yellow", title_align="left")


def _final_panel(traj: Trajectory) -> Panel:
    lines = [
        f"answer: {traj.extracted_answer if traj.extracted_answer is not None else '(none)'}",
        f"stop: {traj.stop_reason} · code turns: {traj.num_code_turns} · execution errors: {traj.exec_errors}"
        f" · tokens: {traj.metadata.get('completion_tokens') or '-'}",
    ]
    if traj.metadata.get("error"):
        lines.append(f"error: {traj.metadata['error']}")
    if traj.metadata.get("gold") is not None:
        lines.append(f"gold: {traj.metadata['gold']} · {traj.grade_reason}")
    style = "green" if traj.extracted_answer is not None else "red"
    return Panel("\n".join(lines), title="final", border_style=style, title_align="left")


def register(app: typer.Typer) -> None:
    @app.command("solve")
    def solve_cmd(
        question: str = typer.Argument(..., help="The question to solve."),
        model: str = typer.Option("default", help="Hub id, local folder, .gguf file, 'default' (embedded SmolLM2); "
                                  "for --backend openai the served model name; for scripted the tokenizer."),
        backend: str = typer.Option("hf", help="hf | vllm | openai | scripted"),
        mode: str = typer.Option("ci", help="ci (code interpreter) | text (no code execution)"),
        max_turns: int = typer.Option(5, help="Maximum code executions."),
        temperature: float = typer.Option(0.0, help="0 = greedy."),
        max_new_tokens: int = typer.Option(1024, help="Budget of the whole completion."),
        max_tokens_per_turn: int = typer.Option(512, help="Budget of one model turn."),
        answer: str | None = typer.Option(None, help="Gold answer to check against (exact match)."),
        device: str | None = typer.Option(None, help="hf backend: cpu | cuda | auto."),
        base_url: str | None = typer.Option(None, help="openai backend: server URL, e.g. http://localhost:8000/v1"),
        api: str = typer.Option("chat", help="openai backend: chat | completions"),
        api_key_env: str | None = typer.Option(None, help="openai backend: env var holding the key (OPENAI_API_KEY)."),
        tokenizer: str | None = typer.Option(None, help="openai completions API: tokenizer for the chat template."),
        script: str | None = typer.Option(None, help="scripted backend: built-in script name (calculator)."),
        sandbox: str = typer.Option("local", help="Executor: local | http://HOST:PORT | sandboxfusion:URL"),
        json_out: Path | None = typer.Option(None, help="Also write the trajectory as JSON here."),
        override: OverrideOpt = None,
    ) -> None:
        """Run one question interactively: each model turn, code block and interpreter output as it happens."""
        try:
            # -o sets any RolloutConfig knob (e.g. -o top_p=0.9), over the flags' values
            cfg = build_config(RolloutConfig, {
                "mode": mode, "max_code_turns": max_turns, "temperature": temperature,
                "max_new_tokens": max_new_tokens, "max_tokens_per_turn": max_tokens_per_turn,
            }, override)
            with console.status(f"loading {backend} backend ({model})"):
                be = backend_from_flags(
                    backend, model, device=device, base_url=base_url, api=None if api == "chat" else api,
                    api_key_env=api_key_env, tokenizer=tokenizer, script=script,
                )
        except (ValueError, ImportError, FileNotFoundError) as exc:  # ConfigError is a ValueError
            console.print(f"[red]error:[/] {exc}")
            raise typer.Exit(2) from exc

        executor = None
        if mode == "ci":
            from r1ci.sandbox import get_executor

            executor = get_executor(sandbox)
        turns = {"n": 0}

        def show(_: int, seg: Segment) -> None:
            if seg.kind == "model":
                turns["n"] += 1
                console.print(_model_panel(seg, turns["n"]))
            else:
                console.print(_interpreter_panel(seg))

        console.print(Panel(question, title="question", border_style="magenta", title_align="left"))
        try:
            traj = solve(be, question, cfg, answer=answer, executor=executor, on_segment=show)
        except RuntimeError as exc:  # e.g. the server refused the key or the model: nothing to show
            console.print(f"[red]error:[/] {exc}")
            raise typer.Exit(1) from exc
        finally:
            if executor is not None:
                executor.close()
            be.close()
        console.print(_final_panel(traj))
        if json_out is not None:
            json_out.parent.mkdir(parents=True, exist_ok=True)
            json_out.write_text(json.dumps(traj.to_dict(), ensure_ascii=False, indent=1))
        if traj.stop_reason == "error":
            raise typer.Exit(1)
