"""Reasoning-Gym: 80 procedural datasets from `reasoning-gym==0.1.25`, one `Task` each (same name).

Which 80: every dataset of the package whose entries carry a gold answer that its own verifier
accepts (checked over all difficulties below), that generates 100 questions in about a second or
less, whose questions are the same in every process (no dependence on Python's per-process string
hashing), and whose verifier is trustworthy. Left out, and why:
  no gold answer (verifier only): boxnet, graph_color, propositional_logic, rubiks_cube, rush_hour;
  too slow to generate: futoshiki, knight_swap, puzzle24, sokoban, intermediate_integration, sudoku;
  questions differ between processes (set iteration order): isomorphic_strings, ransom_note,
  word_ladder, polynomial_multiplication; golds failing their own verifier after a JSON round trip
  or huge prompts: arc_agi, rearc; writes files and prints while generating: codeio; broken
  verifier (`bool("False")` is True): game_of_life_halting; twins of SymBench tasks (kept out so a
  held-out kind never reappears under another name): string_insertion, string_splitting,
  string_synthesis, mahjong_puzzle, pool_matrix, n_queens; and composite (a mixer, not a task).

Difficulty: Reasoning-Gym curricula have per-attribute levels; our knob 1..5 maps onto global levels
0..max_level spread evenly (`max_level` per dataset is the highest level that generates quickly and
whose golds verify in this version). `difficulty=None` uses the dataset's own default config
(zebra_puzzles: its level 0, the default being ~10x slower). A raw
config dict (`reasoning_gym_task(name, config={...})` or `task.extra["config"]`) overrides both.

Scoring: the dataset's `score_answer` on the extracted `<<<...>>>` text. Several verifiers give
partial credit (0.01 for any wrong answer, similarity scores); the reward is outcome-only, as in
the paper: 1.0 when `score_answer` returns 1.0, else 0.0 (`partial_credit=True` keeps the raw score).
Each question's metadata holds the dataset, the config and the dataset's own entry metadata
(round-tripped through JSON at generation, so a question re-read from JSONL grades the same).

Seeds: question i of (task, seed) comes from a dataset seeded by a hash of (task, seed, i // 500),
so it is the same whatever n is, and different seeds never share questions (Reasoning-Gym itself
seeds item i with seed + i, so plain seeds 0 and 1 would overlap).
"""

from __future__ import annotations

import contextlib
import decimal
import hashlib
import io
import json
import random
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from fractions import Fraction
from functools import cache
from typing import Any

from r1ci.tasks.answers import ANSWER_INSTRUCTION
from r1ci.tasks.base import Question, Task, with_instruction
from r1ci.tasks.reasoning_gym_data_programs import DATA_PROGRAMS
from r1ci.tasks.reasoning_gym_programs import PROGRAMS

DIFFICULTIES = (1, 2, 3, 4, 5)
_BLOCK = 500  # questions per underlying dataset instance (see "Seeds" above)


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    max_level: int | None
    """Highest usable curriculum global level; None or 0 = no difficulty knob (defaults only)."""
    levels: tuple[int, ...] | None = None
    """Explicit global level for difficulties 1..5, where the even spread hits a broken level."""
    fixed: tuple[tuple[str, Any], ...] = ()
    """Config fields pinned at every difficulty (where a curriculum reaches configs the verifier cannot check)."""
    default_level: int | None = None
    """Curriculum level used for `difficulty=None` where the dataset's own default config is too slow."""

    def level_for(self, difficulty: int) -> int:
        if self.levels is not None:
            return self.levels[difficulty - 1]
        assert self.max_level
        return int((difficulty - 1) * self.max_level / 4 + 0.5)

    @property
    def difficulties(self) -> tuple[int, ...]:
        return DIFFICULTIES if (self.levels or self.max_level) else ()


def _spec(
    name: str,
    max_level: int | None,
    levels: tuple[int, ...] | None = None,
    default_level: int | None = None,
    **fixed: Any,
) -> DatasetSpec:
    return DatasetSpec(name, max_level, levels, tuple(sorted(fixed.items())), default_level)


# Measured on reasoning-gym 0.1.25: at every level up to max_level all golds of 100 questions verify
# and generation takes < ~2.5 s per 100; the level above was slower, failed validation or had golds
# its own verifier rejects (caesar_cipher, survo, tsumego, jugs, string_manipulation, countdown).
# tower_of_hanoi's verifier only understands 3 pegs, so the curriculum's extra pegs are pinned off, and its
# golds fail above 5 disks: every difficulty uses level 1 (3-5 disks; level 0 has 6 distinct questions).
# coin_flip starts at level 3 (3-6 flips): level 0 (3 flips) has 8 possible questions.
# zebra_puzzles' default config takes ~10 s per 100 questions: difficulty=None means its level 0.
SPECS: dict[str, DatasetSpec] = {
    s.name: s
    for s in (
        _spec("ab", 3), _spec("acre", None), _spec("advanced_geometry", 3), _spec("aiw", 8),
        _spec("arc_1d", 2), _spec("base_conversion", 4), _spec("basic_arithmetic", 4), _spec("bf", 1),
        _spec("binary_alternation", 3), _spec("binary_matrix", 3), _spec("bitwise_arithmetic", 9),
        _spec("caesar_cipher", 1), _spec("calendar_arithmetic", 3), _spec("chain_sum", 10),
        _spec("circuit_logic", 4), _spec("coin_flip", 12, levels=(3, 5, 7, 10, 12)), _spec("color_cube_rotation", 4),
        _spec("complex_arithmetic", 3), _spec("count_bits", 4), _spec("count_primes", 4),
        _spec("countdown", 1), _spec("course_schedule", 4), _spec("cryptarithm", 3),
        _spec("decimal_arithmetic", 3), _spec("decimal_chain_sum", 4), _spec("dice", 3),
        _spec("emoji_mystery", 5), _spec("family_relationships", 8), _spec("figlet_font", 5),
        _spec("fraction_simplification", 3), _spec("game_of_life", 1), _spec("gcd", 3),
        _spec("group_anagrams", 3), _spec("jugs", 0),
        _spec("kakurasu", 3), _spec("knights_knaves", 3), _spec("largest_island", 3), _spec("lcm", 3),
        _spec("leg_counting", 35), _spec("letter_counting", 7), _spec("letter_jumble", 4),
        _spec("list_functions", None), _spec("manipulate_matrix", 4), _spec("maze", 3),
        _spec("mini_sudoku", 4), _spec("modulo_grid", 5, levels=(0, 2, 3, 4, 5)),
        _spec("needle_haystack", 3), _spec("number_filtering", 3), _spec("number_format", 3),
        _spec("number_sequence", 0), _spec("number_sorting", 7), _spec("palindrome_generation", 3),
        _spec("path_star", 3), _spec("power_function", 4),
        _spec("prime_factorization", 3), _spec("products", 10), _spec("quantum_lock", 9),
        _spec("rectangle_count", 4), _spec("rotate_matrix", 4),
        _spec("rotten_oranges", 3), _spec("self_reference", 9), _spec("sentence_reordering", 3),
        _spec("shortest_path", 3), _spec("simple_equations", 3), _spec("simple_geometry", 3),
        _spec("simple_integration", 3), _spec("spell_backward", 4), _spec("spiral_matrix", 3),
        _spec("string_manipulation", 2), _spec("survo", 1), _spec("syllogism", 3),
        _spec("time_intervals", 6), _spec("tower_of_hanoi", 1, levels=(1, 1, 1, 1, 1), min_pegs=3, max_pegs=3), _spec("tsumego", 0),
        _spec("word_sequence_reversal", 3), _spec("word_sorting", 4), _spec("gsm_symbolic", None),
        _spec("palindrome_partitioning", 3), _spec("polynomial_equations", 1),
        _spec("zebra_puzzles", 1, default_level=0),
    )
}  # fmt: skip


class ReasoningGymError(RuntimeError):
    pass


def _rg() -> Any:
    try:
        import reasoning_gym
    except ImportError as exc:  # a hard dependency, but say how to fix a broken environment
        raise ReasoningGymError(
            "Reasoning-Gym tasks need reasoning-gym: pip install 'reasoning-gym==0.1.25'"
        ) from exc
    return reasoning_gym


@cache
def level_config(dataset: str, level: int) -> dict[str, Any]:
    """The config fields the dataset's curriculum sets at a global level (only those fields)."""
    from reasoning_gym.coaching.attributes import ScalarAttributeDefinition
    from reasoning_gym.factory import create_curriculum

    curriculum = create_curriculum(dataset)
    curriculum.set_global_level(level)
    full = asdict(curriculum.generate_configuration({}))
    fields: list[str] = []
    for attr in curriculum.attributes.values():
        if isinstance(attr, ScalarAttributeDefinition):
            fields.append(attr.field_name)
        else:
            fields += [attr.lower_field_name, attr.upper_field_name]
    return json.loads(json.dumps({f: full[f] for f in sorted(fields)}))


def config_for(spec: DatasetSpec, difficulty: int | None, raw: dict[str, Any] | None) -> dict[str, Any]:
    config: dict[str, Any] = {}
    level = spec.default_level if difficulty is None else spec.level_for(difficulty)
    if level is not None:
        config.update(level_config(spec.name, level))
        config.update(dict(spec.fixed))
    config.update(raw or {})
    return config


def _dataset_seed(task: str, seed: int, block: int) -> int:
    digest = hashlib.sha256(f"{task}|{seed}|{block}".encode()).digest()
    return int.from_bytes(digest[:4], "big") >> 1  # < 2**31: some generators seed numpy with seed + i


# `redirect_stdout` swaps the process-wide sys.stdout; one lock keeps concurrent callers (threads of a
# rollout engine) from restoring each other's buffers. Held only around Reasoning-Gym calls.
_quiet_lock = threading.RLock()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Swallow what Reasoning-Gym prints (bf prints while generating, tower_of_hanoi while scoring)."""
    with _quiet_lock, contextlib.redirect_stdout(io.StringIO()):
        yield


@contextlib.contextmanager
def _seeded_globals(seed: int) -> Iterator[None]:
    """Run with Python's (and numpy's) global RNG seeded to `seed`, then restore the caller's state.

    Some generators draw from the global `random` (e.g. list_functions' create_random_odd_numbers)
    or set the thread's decimal context (decimal_arithmetic),
    which made question i at seed s depend on what ran before it in the process. Seeding the globals
    per item makes it a function of (task, seed, i) alone, and restoring them keeps the caller's
    own random streams untouched. Held under `_quiet_lock`, since global state is process-wide.
    """
    import sys

    np = sys.modules.get("numpy")
    # decimal_arithmetic sets the thread's decimal precision while generating: keep it inside
    with _quiet_lock, decimal.localcontext():
        state = random.getstate()
        np_state = np.random.get_state() if np is not None else None
        random.seed(seed)
        if np is not None:
            np.random.seed(seed % 2**32)
        try:
            yield
        finally:
            random.setstate(state)
            if np is not None and np_state is not None:
                np.random.set_state(np_state)


def _create(dataset: str, config: dict[str, Any], seed: int, size: int) -> Any:
    rg = _rg()
    try:
        with _seeded_globals(seed), _quiet():
            return rg.create_dataset(dataset, seed=seed, size=size, **config)
    except (TypeError, AssertionError, ValueError) as exc:
        raise ReasoningGymError(
            f"reasoning-gym rejected the config {config} for dataset {dataset!r}: {type(exc).__name__}: {exc}; "
            "check the field names and ranges in the dataset's config class"
        ) from exc


_scorers: dict[tuple[str, str], Any] = {}
_scorer_lock = threading.Lock()


def _scorer(dataset: str, config: dict[str, Any]) -> Any:
    key = (dataset, json.dumps(config, sort_keys=True))
    with _scorer_lock:
        if key not in _scorers:
            _scorers[key] = _create(dataset, config, seed=0, size=1)
        return _scorers[key]


def _problem_text(prompt: str) -> str:
    return prompt[: -len(ANSWER_INSTRUCTION)].rstrip() if prompt.endswith(ANSWER_INSTRUCTION) else prompt


# Verifiers that are looser than "the answer is right": these must also pass for reward 1.
def _strict_figlet(answer: str, gold: str, meta: dict[str, Any]) -> bool:
    # Reasoning-Gym gives 0.1 per letter in place, capped at 1.0: a 12-letter word with 2 typos scores 1.0.
    return answer.replace(" ", "").strip().lower() == gold.strip().lower()


def _float_list(text: str) -> list[float] | None:
    try:
        values = json.loads(text.replace("'", '"'))
        return [float(v) for v in values] if isinstance(values, list) else None
    except (ValueError, TypeError):
        return None


def _strict_number_sorting(answer: str, gold: str, meta: dict[str, Any]) -> bool:
    # Reasoning-Gym accepts any value within 1.0 of the right one, in the right order.
    got = _float_list(answer)
    return got is not None and got == _float_list(gold)


_STRICT: dict[str, Callable[[str, str, dict[str, Any]], bool]] = {
    "figlet_font": _strict_figlet,
    "number_sorting": _strict_number_sorting,
}


def _survo_valid(answer: str, gold: str, meta: dict[str, Any]) -> bool:
    """Any completion that keeps the given cells, uses exactly the candidate numbers and satisfies every
    row and column sum (the generator's puzzles often have several; Reasoning-Gym accepts only its own)."""
    puzzle = meta["puzzle"]
    n = len(puzzle)
    try:
        grid = [[int(x) for x in line.split()] for line in answer.strip().splitlines()]
    except ValueError:
        return False
    if len(grid) != n or any(len(row) != n for row in grid):
        return False
    if any(puzzle[r][c] not in (0, grid[r][c]) for r in range(n) for c in range(n)):
        return False
    filled = sorted(grid[r][c] for r in range(n) for c in range(n) if puzzle[r][c] == 0)
    if filled != sorted(meta["candidate_numbers"]):
        return False
    rows_ok = all(sum(grid[r][: n - 1]) == grid[r][n - 1] for r in range(n))
    cols_ok = all(sum(grid[r][c] for r in range(n - 1)) == grid[n - 1][c] for c in range(n))
    return rows_ok and cols_ok


# Verifiers stricter than needed: a valid answer they reject still scores 1.
_VALID: dict[str, Callable[[str, str, dict[str, Any]], bool]] = {
    "survo": _survo_valid,
}


def _rg_score(
    scorer: Any, dataset: str, answer: str, gold: str, question: str, meta: dict[str, Any]
) -> float:
    valid = _VALID.get(dataset)
    if valid is not None and len(answer) < 10_000 and valid(answer, gold, meta):
        return 1.0
    entry = {"question": question, "answer": gold, "metadata": meta}
    with _quiet():
        score = float(scorer.score_answer(answer, entry))
    strict = _STRICT.get(dataset)
    if strict is not None and score > 0 and not strict(answer, gold, meta):
        return 0.0
    return score


def raw_score(answer: str, q: Question) -> float:
    """Reasoning-Gym's own score for `answer` (strict for the loose verifiers), before binarising."""
    meta = q.metadata
    scorer = _scorer(meta["dataset"], meta["config"])
    return _rg_score(
        scorer, meta["dataset"], answer, q.answer or "", _problem_text(q.prompt), meta["rg_metadata"]
    )


def _make_check(partial_credit: bool) -> Callable[[str, Question], float]:
    def check(answer: str, q: Question) -> float:
        score = raw_score(answer, q)
        if partial_credit:
            return min(max(score, 0.0), 1.0)
        return 1.0 if score >= 1.0 - 1e-9 else 0.0

    return check


def _jsonable(value: Any) -> Any:
    """JSON stand-ins for the few non-JSON values in Reasoning-Gym metadata (gsm_symbolic's Fractions)."""
    if isinstance(value, Fraction):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _make_questions(
    name: str, spec: DatasetSpec, extra: dict[str, Any]
) -> Callable[[int, int, int | None], list[Question]]:
    def make(n: int, seed: int, difficulty: int | None) -> list[Question]:
        if not spec.difficulties:
            difficulty = None  # no knob: a difficulty asked of every task (synth, eval) does not apply, as for BBH
        config = config_for(spec, difficulty, extra.get("config"))
        out: list[Question] = []
        datasets: dict[int, Any] = {}
        k = rejected = 0
        while len(out) < n:
            block, j = divmod(k, _BLOCK)
            k += 1
            if block not in datasets:
                datasets[block] = _create(spec.name, config, _dataset_seed(name, seed, block), _BLOCK)
            ds = datasets[block]
            try:
                with _seeded_globals(_dataset_seed(name, seed, block) + j), _quiet():
                    entry = ds[j]
            except Exception as exc:  # a generator giving up on one index (countdown: "Failed to generate")
                rejected += 1
                if rejected > 20 + n:
                    raise ReasoningGymError(f"{spec.name}: {rejected} of {k} entries failed ({exc})") from exc
                continue
            try:
                rg_meta = json.loads(json.dumps(entry["metadata"], default=_jsonable))
            except TypeError as exc:
                raise ReasoningGymError(f"{spec.name}: question metadata is not JSON ({exc})") from exc
            answer = str(entry["answer"])
            # A few generated entries carry a gold their own verifier rejects (or, above, fail to generate);
            # such a question could never be answered right, so it is skipped (deterministically: same seed,
            # same questions).
            if _rg_score(ds, spec.name, answer, answer, entry["question"], rg_meta) < 1.0 - 1e-9:
                rejected += 1
                if rejected > 20 + n:
                    raise ReasoningGymError(
                        f"{spec.name}: {rejected} of {k} generated golds fail the dataset's own verifier "
                        f"with config {config}; this config is not usable, pick another difficulty/config"
                    )
                continue
            out.append(
                Question(
                    id=f"{name}/{seed}/{len(out)}",
                    task=name,
                    prompt=with_instruction(entry["question"]),
                    answer=answer,
                    metadata={
                        "dataset": spec.name,
                        "difficulty": difficulty,
                        "seed": seed,
                        "index": len(out),
                        "config": config,
                        "rg_metadata": rg_meta,
                    },
                )
            )
        return out

    return make


# ---------------------------------------------------------------------------------------------
# Corruptions: near-miss wrong answers for tests (each verified wrong by the dataset's own verifier).
# ---------------------------------------------------------------------------------------------

_FLIP = {"true": "False", "false": "True", "yes": "No", "no": "Yes"}
_INT = re.compile(r"^-?\d+$")
_FLOAT = re.compile(r"^-?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$")


def _next_char(c: str) -> str:
    if c.isdigit():
        return str((int(c) + 1) % 10)
    base = "A" if c.isupper() else "a"
    return chr((ord(c.lower()) - ord("a") + 1) % 26 + ord(base))


def generic_corrupt(gold: str, q: Question) -> str:
    """Flip a boolean, bump a number, else change the last digit or ASCII letter of the answer."""
    g = gold.strip()
    if g.lower() in _FLIP:
        return _FLIP[g.lower()]
    if _INT.match(g):
        return str(int(g) + 1)
    if _FLOAT.match(g):
        return repr(float(g) * 2 + 1)
    for k in range(len(g) - 1, -1, -1):
        if g[k].isascii() and g[k].isalnum():
            return g[:k] + _next_char(g[k]) + g[k + 1 :]
    return g + " x"


def _corrupt_first(gold: str, q: Question) -> str:
    """Change the first digit/letter instead (for answers whose tail the verifier ignores)."""
    for k, c in enumerate(gold):
        if c.isascii() and c.isalnum():
            return gold[:k] + _next_char(c) + gold[k + 1 :]
    return gold + " x"


def _corrupt_swap_list(gold: str, q: Question) -> str:
    """Swap two adjacent different items of a list answer: same items, wrong order."""
    items = json.loads(gold.replace("'", '"'))
    for i in range(len(items) - 1):
        if items[i] != items[i + 1]:
            items[i], items[i + 1] = items[i + 1], items[i]
            break
    return "[" + ", ".join(f"'{v}'" for v in items) + "]"


def _corrupt_drop_last_press(gold: str, q: Question) -> str:
    """One press fewer than the shortest sequence: cannot be a shortest solution."""
    presses = [p.strip() for p in gold.split("→")]
    return " → ".join(presses[:-1]) if len(presses) > 1 else ("B" if presses[0] == "A" else "A")


def _corrupt_add_variable(gold: str, q: Question) -> str:
    """An antiderivative plus the variable: its derivative is off by 1 (a changed constant C is not)."""
    return f"{gold} + {q.metadata['rg_metadata']['variable']}"


# Where the generic corruption can still be right: "i"/"j" both parse as the imaginary unit;
# number_sorting and time_intervals compare values, not the trailing text; several button sequences
# can be equally short; a changed integration constant is still an antiderivative.
_CORRUPT: dict[str, Callable[[str, Question], str]] = {
    "complex_arithmetic": _corrupt_first,
    "time_intervals": _corrupt_first,
    "number_sorting": _corrupt_swap_list,
    "quantum_lock": _corrupt_drop_last_press,
    "simple_integration": _corrupt_add_variable,
}


# ---------------------------------------------------------------------------------------------
# Tasks
# ---------------------------------------------------------------------------------------------


def reasoning_gym_task(
    dataset: str,
    *,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    partial_credit: bool = False,
) -> Task:
    """A `Task` over one Reasoning-Gym dataset. `config` (raw config-dataclass fields) overrides the
    difficulty mapping; it is kept in `task.extra["config"]`, which the task reads at generation time."""
    spec = SPECS.get(dataset) or DatasetSpec(dataset, None)
    task_name = name or dataset
    extra: dict[str, Any] = {
        "dataset": dataset,
        "corrupt": _CORRUPT.get(dataset, generic_corrupt),
    }
    if config is not None:
        extra["config"] = dict(config)
    return Task(
        name=task_name,
        source="reasoning_gym",
        make_questions=_make_questions(task_name, spec, extra),
        check=_make_check(partial_credit),
        description=f"Reasoning-Gym {dataset.replace('_', ' ')}",
        difficulties=spec.difficulties,
        reference_program=DATA_PROGRAMS.get(dataset) or PROGRAMS.get(dataset),
        extra=extra,
    )


def load_tasks() -> list[Task]:
    return [reasoning_gym_task(name) for name in SPECS]
