"""The train/test split of the 144 tasks: split by *task*, so test tasks are unseen kinds of problem.

The paper holds out 37 of its 144 tasks but its task-by-task list is not available here, so this
module fixes one documented list (never drawn at run time, so every run and every machine agree).
About a quarter of each source is held out, spread over the kinds of problem in it:

- SymBench, 10 of 37: planning (boxlift, path_plan), constraint puzzles (eight_queens, light_puzzles),
  ciphers (cryptanalysis), strings (string_splitting), counting (statistical_counting), logic
  (constrained_linear_arrangement), math (math_geometry), circuits (boolean_circuit).
- BIG-Bench-Hard, 7 of 27: only tasks without a sibling variant (the three `logical_deduction_*` and
  `tracking_shuffled_objects_*` sizes all stay in train, so no test task is a resized training task).
- Reasoning-Gym, 20 of 80: induction, code, graphs, grids, logic, puzzles and calculus; none of the
  datasets with a reference program (the scripted SFT teacher's tasks) is held out.

Tasks whose Reasoning-Gym twin duplicates a SymBench task were left out of the Reasoning-Gym
selection altogether, so a held-out kind of problem never reappears under another name in training.

The split is a setting. Load the paper's list (or any other) from YAML/JSON with
`R1CI_SPLIT_FILE=path` or `use_split(path)`. The file holds `test: [names]` and optionally
`train: [names]`; without `train`, every registered task not in `test` is a training task; with it,
a task in neither list is in no split (never trained on, never in the test set).
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
    "eight_queens",
    "cryptanalysis",
    "light_puzzles",
    "path_plan",
    "string_splitting",
    "statistical_counting",
    "constrained_linear_arrangement",
    "math_geometry",
    "boolean_circuit",
)
SYMBENCH_TRAIN: tuple[str, ...] = (
    "game24",
    "boxnet",
    "blocksworld",
    "sudoku",
    "letters",
    "number_multiply",
    "logic_puzzle",
    "mahjong",
    "matrix_transformation",
    "pooling",
    "reversi",
    "game_2048",
    "string_insertion",
    "string_synthesis",
    "string_deletion_modification",
    "permutations_combinations",
    "logical_equation",
    "new_operator",
    "pattern_recognition",
    "letter_logic_diagram",
    "synthesis_decomposition",
    "combinatorial_calculation",
    "gsm_hard",
    "math_counting",
    "date_arithmetic",
    "knapsack",
    "calendar_scheduling",
)

BBH_TEST: tuple[str, ...] = (
    "bbh_boolean_expressions",
    "bbh_dyck_languages",
    "bbh_geometric_shapes",
    "bbh_navigate",
    "bbh_penguins_in_a_table",
    "bbh_temporal_sequences",
    "bbh_web_of_lies",
)
BBH_TRAIN: tuple[str, ...] = (
    "bbh_causal_judgement",
    "bbh_date_understanding",
    "bbh_disambiguation_qa",
    "bbh_formal_fallacies",
    "bbh_hyperbaton",
    "bbh_logical_deduction_five_objects",
    "bbh_logical_deduction_seven_objects",
    "bbh_logical_deduction_three_objects",
    "bbh_movie_recommendation",
    "bbh_multistep_arithmetic_two",
    "bbh_object_counting",
    "bbh_reasoning_about_colored_objects",
    "bbh_ruin_names",
    "bbh_salient_translation_error_detection",
    "bbh_snarks",
    "bbh_sports_understanding",
    "bbh_tracking_shuffled_objects_five_objects",
    "bbh_tracking_shuffled_objects_seven_objects",
    "bbh_tracking_shuffled_objects_three_objects",
    "bbh_word_sorting",
)

REASONING_GYM_TEST: tuple[str, ...] = (
    "acre",
    "bf",
    "binary_alternation",
    "color_cube_rotation",
    "course_schedule",
    "cryptarithm",
    "family_relationships",
    "figlet_font",
    "kakurasu",
    "knights_knaves",
    "largest_island",
    "maze",
    "mini_sudoku",
    "number_sequence",
    "quantum_lock",
    "rotten_oranges",
    "self_reference",
    "simple_integration",
    "syllogism",
    "tower_of_hanoi",
)
REASONING_GYM_TRAIN: tuple[str, ...] = (
    "ab",
    "advanced_geometry",
    "aiw",
    "arc_1d",
    "base_conversion",
    "basic_arithmetic",
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
    "decimal_arithmetic",
    "decimal_chain_sum",
    "dice",
    "emoji_mystery",
    "fraction_simplification",
    "game_of_life",
    "gcd",
    "group_anagrams",
    "gsm_symbolic",
    "jugs",
    "lcm",
    "leg_counting",
    "letter_counting",
    "letter_jumble",
    "list_functions",
    "manipulate_matrix",
    "modulo_grid",
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
    "sentence_reordering",
    "shortest_path",
    "simple_equations",
    "simple_geometry",
    "spell_backward",
    "spiral_matrix",
    "string_manipulation",
    "survo",
    "time_intervals",
    "tsumego",
    "word_sequence_reversal",
    "word_sorting",
    "zebra_puzzles",
)


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

    def assignment(self, name: str) -> SplitName | None:
        """The task's split; None when the split has a train list and names the task in neither."""
        if name in self.test:
            return "test"
        if self.train is None or name in self.train:
            return "train"
        return None

    def split_of(self, name: str) -> SplitName:
        found = self.assignment(name)
        if found is not None:
            return found
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
