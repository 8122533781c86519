"""The train/test split of the 144 tasks: split by *task*, so test tasks are unseen kinds of problem.

The paper holds out 37 of its 144 tasks but its task-by-task list is not available here (nor in the
reference data), so this module fixes one documented list (never drawn at run time, so every run and
every machine agree). About a quarter of each source is held out, and two rules decide the rest:

1. No near-duplicate straddles the split. Tasks of one kind sit on one side together, whatever
   source they come from: the four BBH-derived SymBench tasks with their BBH originals
   (date_understanding, web_of_lies, logical_deduction, navigation: train); sudoku with
   mini_sudoku and letter_logic_diagram (Latin squares); logic_puzzle with kakurasu and survo (grid
   sums); logical_equation with cryptarithm (letters to digits); the rewriting engines
   string_splitting / string_synthesis / synthesis_decomposition; knights_knaves and self_reference
   with web_of_lies (truth-tellers); syllogism with formal_fallacies; circuit_logic with
   boolean_expressions (train). Held out together: the GSM word problems (gsm_hard, gsm_symbolic);
   grid search (maze, shortest_path, largest_island, rotten_oranges); ARC-style induction
   (arc_1d, modulo_grid, list_functions, number_sequence); unscrambling (letter_jumble,
   sentence_reordering); lights and locks (light_puzzles, quantum_lock); the multi-robot box
   planners (boxlift, boxnet).
2. BIG-Bench-Hard holds out its seven judgement tasks (causal_judgement, disambiguation_qa,
   movie_recommendation, ruin_names, salient_translation_error_detection, snarks,
   sports_understanding): kinds of problem no other training task resembles, where the test is
   whether the model learns when code does not help. The 20 symbolic BBH tasks train.

Counts: SymBench 10 of 37 held out, BIG-Bench-Hard 7 of 27, Reasoning-Gym 20 of 80: 107 / 37.

Extra tasks (date_arithmetic, boolean_circuit, knapsack, calendar_scheduling, in `EXTRA`) are
registered and usable by name but belong to neither split: they are not part of the 144, and a
split file without `train:` still leaves them out unless it names them.

The split is a setting. Load the paper's list (or any other) from YAML/JSON with
`R1CI_SPLIT_FILE=path` or `use_split(path)`. The file holds `test: [names]` and optionally
`train: [names]`; without `train`, every registered non-extra task not in `test` is a training
task; with it, a task in neither list is in no split (never trained on, never in the test set).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

SplitName = Literal["train", "test"]
SPLITS: tuple[SplitName, ...] = ("train", "test")
SPLIT_FILE_ENV = "R1CI_SPLIT_FILE"

SYMBENCH_TEST: tuple[str, ...] = (
    "boxlift",
    "boxnet",
    "eight_queens",
    "cryptanalysis",
    "light_puzzles",
    "path_plan",
    "statistical_counting",
    "constrained_linear_arrangement",
    "gsm_hard",
    "mahjong",
)
SYMBENCH_TRAIN: tuple[str, ...] = (
    "game24",
    "blocksworld",
    "sudoku",
    "letters",
    "number_multiply",
    "logic_puzzle",
    "matrix_transformation",
    "pooling",
    "reversi",
    "game_2048",
    "string_insertion",
    "string_splitting",
    "string_synthesis",
    "string_deletion_modification",
    "permutations_combinations",
    "logical_equation",
    "new_operator",
    "pattern_recognition",
    "letter_logic_diagram",
    "synthesis_decomposition",
    "combinatorial_calculation",
    "math_counting",
    "math_geometry",
    "date_understanding",
    "web_of_lies",
    "logical_deduction",
    "navigation",
)

BBH_TEST: tuple[str, ...] = (
    "bbh_causal_judgement",
    "bbh_disambiguation_qa",
    "bbh_movie_recommendation",
    "bbh_ruin_names",
    "bbh_salient_translation_error_detection",
    "bbh_snarks",
    "bbh_sports_understanding",
)
BBH_TRAIN: tuple[str, ...] = (
    "bbh_boolean_expressions",
    "bbh_date_understanding",
    "bbh_dyck_languages",
    "bbh_formal_fallacies",
    "bbh_geometric_shapes",
    "bbh_hyperbaton",
    "bbh_logical_deduction_five_objects",
    "bbh_logical_deduction_seven_objects",
    "bbh_logical_deduction_three_objects",
    "bbh_multistep_arithmetic_two",
    "bbh_navigate",
    "bbh_object_counting",
    "bbh_penguins_in_a_table",
    "bbh_reasoning_about_colored_objects",
    "bbh_temporal_sequences",
    "bbh_tracking_shuffled_objects_five_objects",
    "bbh_tracking_shuffled_objects_seven_objects",
    "bbh_tracking_shuffled_objects_three_objects",
    "bbh_web_of_lies",
    "bbh_word_sorting",
)

REASONING_GYM_TEST: tuple[str, ...] = (
    "acre",
    "arc_1d",
    "binary_alternation",
    "color_cube_rotation",
    "course_schedule",
    "family_relationships",
    "figlet_font",
    "gsm_symbolic",
    "largest_island",
    "letter_jumble",
    "list_functions",
    "maze",
    "modulo_grid",
    "number_sequence",
    "quantum_lock",
    "rotten_oranges",
    "sentence_reordering",
    "shortest_path",
    "simple_integration",
    "tower_of_hanoi",
)
REASONING_GYM_TRAIN: tuple[str, ...] = (
    "ab",
    "advanced_geometry",
    "aiw",
    "base_conversion",
    "basic_arithmetic",
    "bf",
    "binary_matrix",
    "bitwise_arithmetic",
    "caesar_cipher",
    "calendar_arithmetic",
    "chain_sum",
    "circuit_logic",
    "coin_flip",
    "complex_arithmetic",
    "count_bits",
    "count_primes",
    "countdown",
    "cryptarithm",
    "decimal_arithmetic",
    "decimal_chain_sum",
    "dice",
    "emoji_mystery",
    "fraction_simplification",
    "game_of_life",
    "gcd",
    "group_anagrams",
    "jugs",
    "kakurasu",
    "knights_knaves",
    "lcm",
    "leg_counting",
    "letter_counting",
    "manipulate_matrix",
    "mini_sudoku",
    "needle_haystack",
    "number_filtering",
    "number_format",
    "number_sorting",
    "palindrome_generation",
    "palindrome_partitioning",
    "path_star",
    "polynomial_equations",
    "power_function",
    "prime_factorization",
    "products",
    "rectangle_count",
    "rotate_matrix",
    "self_reference",
    "simple_equations",
    "simple_geometry",
    "spell_backward",
    "spiral_matrix",
    "string_manipulation",
    "survo",
    "syllogism",
    "time_intervals",
    "tsumego",
    "word_sequence_reversal",
    "word_sorting",
    "zebra_puzzles",
)

# Registered, usable by name, in neither split (r1ci inventions kept outside the 144).
EXTRA: tuple[str, ...] = ("date_arithmetic", "boolean_circuit", "knapsack", "calendar_scheduling")


class SplitError(ValueError):
    pass


@dataclass(frozen=True)
class Split:
    """A task-level split. `train=None` means "every task not in `test`"."""

    test: frozenset[str]
    train: frozenset[str] | None = None
    origin: str = "built-in"

    def __post_init__(self) -> None:
        if self.train is not None:
            both = sorted(self.train & self.test)
            if both:
                raise SplitError(
                    f"split {self.origin}: tasks listed in both train and test: {both}; "
                    "a held-out task must not be trained on, so list each task once"
                )

    def listed(self, name: str) -> bool:
        """Whether the split names the task explicitly (in `test`, or in `train` when it has one)."""
        return name in self.test or (self.train is not None and name in self.train)

    def assignment(self, name: str) -> SplitName | None:
        """The task's split; None for a task the split leaves out (not listed while a train list
        exists, or an extra task a split without a train list does not name)."""
        if name in self.test:
            return "test"
        if self.train is None:
            return None if name in EXTRA else "train"
        return "train" if name in self.train else None

    def split_of(self, name: str) -> SplitName:
        found = self.assignment(name)
        if found is not None:
            return found
        if name in EXTRA:
            raise SplitError(
                f"task {name!r} is an extra task outside the 144 and in neither split of {self.origin}; "
                "use it by name (e.g. `r1ci tasks show`), or list it under `train:`/`test:` in a split file"
            )
        raise SplitError(
            f"task {name!r} is in neither the train nor the test list of split {self.origin}; "
            "add it to one of them (or drop `train:` from the split file so unlisted tasks train)"
        )


BUILTIN_SPLIT = Split(
    test=frozenset(SYMBENCH_TEST + BBH_TEST + REASONING_GYM_TEST),
    train=frozenset(SYMBENCH_TRAIN + BBH_TRAIN + REASONING_GYM_TRAIN),
    origin="built-in",
)


def _names(value: object, key: str, path: Path) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SplitError(f"split file {path}: `{key}` must be a list of task names")
    dupes = sorted({v for v in value if value.count(v) > 1})
    if dupes:
        raise SplitError(f"split file {path}: `{key}` lists {dupes} more than once")
    return frozenset(value)


def load_split(path: str | Path) -> Split:
    """Read a split from YAML or JSON: `{"test": [...], "train": [...] (optional)}`."""
    p = Path(path).expanduser()
    if not p.exists():
        raise SplitError(f"split file {p} does not exist; point {SPLIT_FILE_ENV} at a YAML/JSON file")
    text = p.read_text()
    data = json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
    if not isinstance(data, dict) or "test" not in data:
        raise SplitError(f"split file {p} must be a mapping with a `test:` list (and optionally `train:`)")
    unknown = sorted(set(data) - {"train", "test"})
    if unknown:
        raise SplitError(f"split file {p}: unknown keys {unknown}; only `train` and `test` are read")
    train = _names(data["train"], "train", p) if data.get("train") is not None else None
    return Split(test=_names(data["test"], "test", p), train=train, origin=str(p))


_override: Split | None = None
_file_cache: dict[tuple[str, float], Split] = {}
_lock = threading.Lock()


def use_split(split: Split | str | Path | None) -> None:
    """Set the process-wide split: a `Split`, a file path, or None to go back to env/built-in."""
    global _override
    _override = load_split(split) if isinstance(split, (str, Path)) else split


def active_split() -> Split:
    """`use_split(...)` if set, else `$R1CI_SPLIT_FILE`, else the built-in list."""
    if _override is not None:
        return _override
    env = os.environ.get(SPLIT_FILE_ENV)
    if not env:
        return BUILTIN_SPLIT
    p = Path(env).expanduser()
    key = (str(p), p.stat().st_mtime if p.exists() else -1.0)
    with _lock:
        if key not in _file_cache:
            _file_cache[key] = load_split(p)
        return _file_cache[key]


def check_split(split: Split, registered: Iterable[str]) -> list[str]:
    """Names a split mentions that no registered task has (typos in a user's split file)."""
    known = set(registered)
    listed = set(split.test) | set(split.train or ())
    return sorted(listed - known)
