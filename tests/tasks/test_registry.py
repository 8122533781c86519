"""Registry and split: names, lookup errors, the fixed 107/37 task split and loading another one."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from r1ci import tasks
from r1ci.tasks import splits
from r1ci.tasks.bbh import BBH_FORMATS
from r1ci.tasks.reasoning_gym import SPECS
from r1ci.tasks.symbench import SYMBENCH_NAMES


@pytest.fixture(autouse=True)
def _builtin_split(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(splits.SPLIT_FILE_ENV, raising=False)
    tasks.use_split(None)
    yield
    tasks.use_split(None)


def test_suites_and_names() -> None:
    assert tasks.suites() == ["symbench", "bbh", "reasoning_gym"]
    assert tasks.names(suite="symbench") == list(SYMBENCH_NAMES)
    assert tasks.names(suite="bbh") == ["bbh_" + s for s in BBH_FORMATS]
    assert tasks.names(suite="reasoning_gym") == list(SPECS)
    assert tasks.names() == tasks.names(suite="symbench") + tasks.names(suite="bbh") + tasks.names(
        suite="reasoning_gym"
    )
    assert [t.name for t in tasks.all_tasks(suite="bbh", split="test")] == tasks.names(
        suite="bbh", split="test"
    )


def test_get_returns_the_task_and_unknown_names_suggest_close_ones() -> None:
    task = tasks.get("bbh_navigate")
    assert task.name == "bbh_navigate" and task.source == "bbh"
    with pytest.raises(tasks.UnknownTaskError) as err:
        tasks.get("word_sortng")
    message = str(err.value)
    assert message.startswith("unknown task 'word_sortng'; did you mean word_sorting")
    assert "bbh_word_sorting" in message
    assert isinstance(err.value, KeyError)
    with pytest.raises(tasks.UnknownTaskError, match="r1ci tasks list"):
        tasks.get("zzzzzzzz")


def test_bad_filters_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="unknown suite 'gsm8k'"):
        tasks.names(suite="gsm8k")
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        tasks.names(split="dev")


def test_builtin_split_is_107_train_37_test_a_quarter_of_each_source() -> None:
    assert (len(splits.SYMBENCH_TEST), len(splits.BBH_TEST), len(splits.REASONING_GYM_TEST)) == (10, 7, 20)
    assert (len(splits.SYMBENCH_TRAIN), len(splits.BBH_TRAIN), len(splits.REASONING_GYM_TRAIN)) == (
        27,
        20,
        60,
    )
    assert set(splits.SYMBENCH_TEST) | set(splits.SYMBENCH_TRAIN) == set(SYMBENCH_NAMES)
    assert set(splits.BBH_TEST) | set(splits.BBH_TRAIN) == {"bbh_" + s for s in BBH_FORMATS}
    assert set(splits.REASONING_GYM_TEST) | set(splits.REASONING_GYM_TRAIN) == set(SPECS)
    builtin = splits.BUILTIN_SPLIT
    assert builtin.train is not None and not builtin.train & builtin.test
    assert len(builtin.train) == 107 and len(builtin.test) == 37
    assert splits.check_split(builtin, tasks.names()) == []


def test_registered_tasks_follow_the_split() -> None:
    train, test = tasks.names(split="train"), tasks.names(split="test")
    assert len(train) == 107 and len(test) == 37
    assert not set(train) & set(test)
    assert all(tasks.split_of(n) == "test" for n in test)
    assert tasks.counts() == {
        "symbench": {"train": 27, "test": 10, "extra": 4},
        "bbh": {"train": 20, "test": 7, "extra": 0},
        "reasoning_gym": {"train": 60, "test": 20, "extra": 0},
    }
    # the scripted SFT teacher's tasks are all training tasks
    assert {"basic_arithmetic", "letter_counting", "word_sorting", "chain_sum"} <= set(train)
    with pytest.raises(tasks.UnknownTaskError):
        tasks.split_of("not_a_task")


def test_user_split_file_with_only_a_test_list(tmp_path: Path) -> None:
    path = tmp_path / "paper.yaml"
    path.write_text("test:\n  - game24\n  - bbh_navigate\n  - gcd\n")
    tasks.use_split(path)
    assert tasks.names(split="test") == ["game24", "bbh_navigate", "gcd"]
    assert len(tasks.names(split="train")) == 141  # the extra tasks stay out even without a train list
    assert tasks.assignment("knapsack") is None
    assert tasks.split_of("sudoku") == "train"
    assert tasks.active_split().origin == str(path)


def test_split_file_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "split.json"
    path.write_text(json.dumps({"test": ["sudoku"], "train": ["game24", "gcd"]}))
    monkeypatch.setenv(splits.SPLIT_FILE_ENV, str(path))
    assert tasks.names(split="test") == ["sudoku"]
    assert tasks.names(split="train") == ["game24", "gcd"]
    with pytest.raises(splits.SplitError, match="'boxnet' is in neither the train nor the test list"):
        tasks.split_of("boxnet")
    assert "boxnet" not in tasks.names() and "boxnet" in tasks.names(extra=True)
    assert tasks.counts()["symbench"] == {"train": 1, "test": 1, "extra": 39}
    tasks.use_split(splits.BUILTIN_SPLIT)  # an explicit choice beats the environment
    assert len(tasks.names(split="test")) == 37


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('{"train": ["a"]}', "must be a mapping with a `test:` list"),
        ('{"test": "game24"}', "`test` must be a list of task names"),
        ('{"test": ["a"], "dev": ["b"]}', r"unknown keys \['dev'\]"),
        ('{"test": ["a", "a"]}', r"lists \['a'\] more than once"),
        ('{"test": ["a"], "train": ["a", "b"]}', r"tasks listed in both train and test: \['a'\]"),
    ],
)
def test_bad_split_files_name_the_problem(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "s.json"
    path.write_text(text)
    with pytest.raises(splits.SplitError, match=error):
        splits.load_split(path)


def test_missing_split_file_and_typos_are_reported(tmp_path: Path) -> None:
    with pytest.raises(splits.SplitError, match="does not exist"):
        splits.load_split(tmp_path / "nope.yaml")
    split = splits.Split(test=frozenset({"game24", "gcdd"}))
    assert splits.check_split(split, tasks.names()) == ["gcdd"]


def test_importing_r1ci_tasks_builds_nothing() -> None:
    code = (
        "import sys, r1ci.tasks; "
        "print(sorted(m for m in ('reasoning_gym', 'r1ci.tasks.bbh', 'r1ci.tasks.reasoning_gym', "
        "'r1ci.tasks.symbench', 'torch', 'datasets') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_reload_rebuilds_the_registry() -> None:
    before = tasks.get("gcd")
    tasks.reload()
    after = tasks.get("gcd")
    assert after is not before and after.name == before.name


def test_codesteer_membership_and_extra_tasks_outside_the_split() -> None:
    from r1ci.tasks.symbench import EXTRA_NAMES

    bbh_derived = {"date_understanding", "web_of_lies", "logical_deduction", "navigation"}
    assert bbh_derived <= set(SYMBENCH_NAMES) and len(SYMBENCH_NAMES) == 37
    assert not set(EXTRA_NAMES) & set(SYMBENCH_NAMES)
    assert len(tasks.names()) == 144
    for name in EXTRA_NAMES:
        assert tasks.get(name).source == "symbench" and tasks.assignment(name) is None
        assert name in tasks.names(extra=True) and name not in tasks.names()
        with pytest.raises(splits.SplitError, match="extra task outside the 144"):
            tasks.split_of(name)


@pytest.mark.parametrize(
    "group",
    [
        ("date_understanding", "bbh_date_understanding"),
        ("web_of_lies", "bbh_web_of_lies", "knights_knaves", "self_reference"),
        ("logical_deduction", "bbh_logical_deduction_three_objects", "bbh_logical_deduction_five_objects",
         "bbh_logical_deduction_seven_objects", "zebra_puzzles"),
        ("navigation", "bbh_navigate"),
        ("sudoku", "mini_sudoku", "letter_logic_diagram"),
        ("logic_puzzle", "kakurasu", "survo"),
        ("circuit_logic", "bbh_boolean_expressions"),
        ("logical_equation", "cryptarithm"),
        ("string_splitting", "string_synthesis", "synthesis_decomposition"),
        ("syllogism", "bbh_formal_fallacies"),
        ("gsm_hard", "gsm_symbolic"),
        ("maze", "shortest_path", "largest_island", "rotten_oranges"),
        ("boxlift", "boxnet"),
        ("light_puzzles", "quantum_lock"),
    ],
)
def test_near_duplicates_sit_on_one_side_of_the_split(group: tuple[str, ...]) -> None:
    assert len({tasks.split_of(name) for name in group}) == 1, {n: tasks.split_of(n) for n in group}


def test_a_users_own_task_registers_into_a_split() -> None:
    from r1ci.tasks.base import Sample, generated_questions

    def sample(rng, difficulty):  # type: ignore[no-untyped-def]
        a, b = rng.randint(1, 99), rng.randint(1, 99)
        return Sample(f"What is {a} + {b}?", str(a + b), {"a": a, "b": b})

    task = tasks.Task(
        name="my_addition", source="symbench", make_questions=generated_questions("my_addition", sample, 1),
        check=lambda answer, q: answer.strip() == q.answer,
    )
    try:
        tasks.register(task, split="train")
        assert tasks.get("my_addition") is task and tasks.split_of("my_addition") == "train"
        assert "my_addition" in tasks.names(split="train") and len(tasks.names()) == 145
        with pytest.raises(ValueError, match="already registered"):
            tasks.register(task)
        tasks.register(task, split=None, replace=True)
        assert "my_addition" not in tasks.names() and tasks.assignment("my_addition") is None
    finally:
        tasks.unregister("my_addition")
    assert len(tasks.names()) == 144
    with pytest.raises(ValueError, match="already a built-in task"):
        tasks.register(tasks.Task(name="game24", source="symbench", make_questions=task.make_questions,
                                  check=task.check))
    assert tasks.get("game24").name == "game24"


def test_selection_expands_suites_and_splits_and_guards_the_split() -> None:
    from r1ci.tasks.selection import select_tasks

    assert select_tasks(["bbh", "game24", "bbh_navigate"])[:2] == tasks.names(suite="bbh")[:2]
    assert len(select_tasks(["bbh", "bbh_navigate"])) == 27
    assert select_tasks(["test"]) == tasks.names(split="test")
    assert select_tasks(["extra"]) == ["date_arithmetic", "boolean_circuit", "knapsack", "calendar_scheduling"]
    assert select_tasks(None, split="train", suite="bbh") == tasks.names(suite="bbh", split="train")
    with pytest.raises(ValueError, match=r"not in the 'train' split, so SFT refuses them"):
        select_tasks(["game24", "maze"], split="train", purpose="SFT")
    assert select_tasks(["maze"], split="train", allow_other_split=True) == ["maze"]
    with pytest.raises(tasks.UnknownTaskError, match="did you mean"):
        select_tasks(["gam24"])


def test_symbench_modules_register_by_convention() -> None:
    import types

    from r1ci.tasks.base import Sample
    from r1ci.tasks.symbench import module_tasks
    from r1ci.tasks.symbench.common import DIFFICULTIES, task_from_module

    module = types.ModuleType("r1ci.tasks.symbench.say_seven")
    module.DESCRIPTION = "Say seven."
    module.sample = lambda rng, difficulty: Sample("Say seven.", "7")
    module.check = lambda answer, q: answer == "7"
    module.corrupt = lambda gold, q: "8"
    task = task_from_module(module)
    assert (task.name, task.source, task.description) == ("say_seven", "symbench", "Say seven.")
    assert task.difficulties == DIFFICULTIES and sorted(task.extra) == ["corrupt"]
    assert task.reference_program is None and task.questions(1)[0].answer == "7"
    module.MANY_VALID_ANSWERS, module.DIFFICULTIES = True, (1, 2)
    flagged = task_from_module(module)
    assert flagged.extra["many_valid_answers"] and flagged.difficulties == (1, 2)
    del module.check
    with pytest.raises(AttributeError, match=r"r1ci\.tasks\.symbench\.say_seven .*lacks check"):
        module_tasks(module)
    module.TASKS = [tasks.get("gcd")]  # an explicit list wins, and must hold SymBench tasks
    with pytest.raises(TypeError, match="source 'symbench'"):
        module_tasks(module)
