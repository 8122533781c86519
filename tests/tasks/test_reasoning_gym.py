"""Reasoning-Gym adapter: difficulty mapping, raw configs, seeds, outcome-only scoring, quiet output."""

from __future__ import annotations

import json
import re

import pytest

from r1ci import tasks
from r1ci.tasks import reasoning_gym as rg
from r1ci.tasks.answers import wrap_answer
from r1ci.tasks.base import Question


def test_80_datasets_all_registered_in_the_installed_package() -> None:
    from reasoning_gym.factory import DATASETS

    assert len(rg.SPECS) == 80
    assert set(rg.SPECS) <= set(DATASETS)
    assert tasks.names(suite="reasoning_gym") == list(rg.SPECS)


def test_difficulty_levels_exist_in_each_curriculum() -> None:
    from reasoning_gym.factory import create_curriculum, has_curriculum

    for spec in rg.SPECS.values():
        if not spec.difficulties:
            continue
        assert has_curriculum(spec.name), spec.name
        n_levels = max(len(a.levels) for a in create_curriculum(spec.name).attributes.values())
        levels = [spec.level_for(d) for d in spec.difficulties]
        # explicit levels may start above 0 where level 0 is too small to vary (coin_flip, tower_of_hanoi)
        assert levels == sorted(levels) and (levels[0] == 0 or spec.levels is not None), spec.name
        assert levels[-1] < n_levels, spec.name
        assert levels[-1] == (spec.levels[-1] if spec.levels else spec.max_level), spec.name


def test_difficulty_maps_onto_the_curriculum_config() -> None:
    spec = rg.SPECS["basic_arithmetic"]
    easy, hard = rg.config_for(spec, 1, None), rg.config_for(spec, 5, None)
    assert easy == {"max_digits": 1, "max_terms": 2, "min_digits": 1, "min_terms": 2}
    assert hard["max_digits"] == 4 and hard["max_terms"] == 6
    assert rg.config_for(spec, None, None) == {}  # the dataset's own defaults
    task = tasks.get("basic_arithmetic")
    for q in task.questions(20, seed=0, difficulty=1):
        assert q.metadata["config"] == easy
        assert len(re.findall(r"\d+", q.metadata["rg_metadata"]["expression"])) == 2
        assert all(len(x) == 1 for x in re.findall(r"\d+", q.metadata["rg_metadata"]["expression"]))
    assert task.difficulties == (1, 2, 3, 4, 5)


def test_pinned_fields_and_explicit_levels() -> None:
    # tower_of_hanoi's verifier handles 3 pegs only: every difficulty pins them.
    assert rg.config_for(rg.SPECS["tower_of_hanoi"], 5, None)["max_pegs"] == 3
    # modulo_grid's curriculum level 1 fails validation in 0.1.25; difficulty 2 skips to level 2.
    assert rg.SPECS["modulo_grid"].level_for(2) == 2
    for name in ("jugs", "acre", "list_functions", "number_sequence", "tsumego"):
        assert tasks.get(name).difficulties == ()


def test_invalid_difficulty_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"has difficulties \[1, 2, 3, 4, 5\], got 9"):
        tasks.get("chain_sum").questions(2, difficulty=9)


def test_raw_config_via_factory_and_task_extra() -> None:
    task = rg.reasoning_gym_task("chain_sum", name="chain_sum_big", config={"min_terms": 5, "max_terms": 5})
    qs = task.questions(5, seed=1)
    assert all(q.id.startswith("chain_sum_big/1/") for q in qs)
    for q in qs:
        assert q.metadata["config"] == {"min_terms": 5, "max_terms": 5}
        assert len(re.findall(r"\d+", q.metadata["rg_metadata"]["expression"])) == 5
        assert task.score(q, wrap_answer(q.answer or "")) == 1.0
    task.extra["config"] = {"min_terms": 3, "max_terms": 3}
    assert all(
        len(re.findall(r"\d+", q.metadata["rg_metadata"]["expression"])) == 3 for q in task.questions(5)
    )
    # the raw config overrides the difficulty mapping field by field
    task.extra["config"] = {"max_terms": 2, "min_terms": 2}
    q = task.questions(1, difficulty=5)[0]
    level5 = rg.config_for(rg.SPECS["chain_sum"], 5, None)
    assert q.metadata["config"] == {**level5, "max_terms": 2, "min_terms": 2}
    assert level5["max_terms"] > 2


def test_bad_raw_config_names_the_problem() -> None:
    task = rg.reasoning_gym_task("chain_sum", config={"no_such_field": 1})
    with pytest.raises(rg.ReasoningGymError, match="no_such_field"):
        task.questions(1)


def test_seeds_give_disjoint_question_sets() -> None:
    # Reasoning-Gym seeds item i with seed + i; our per-(task, seed) hash keeps seed 0 and 1 apart.
    task = tasks.get("products")
    a = {q.prompt for q in task.questions(50, seed=0)}
    b = {q.prompt for q in task.questions(50, seed=1)}
    assert len(a & b) <= 2
    assert [q.prompt for q in task.questions(3, seed=0)] == [q.prompt for q in task.questions(50, seed=0)][:3]


def test_questions_beyond_one_block_stay_prefix_stable() -> None:
    task = tasks.get("acre")  # acre's questions depend on the dataset size: generated in fixed blocks
    many = task.questions(rg._BLOCK + 5, seed=4)
    assert [q.prompt for q in task.questions(7, seed=4)] == [q.prompt for q in many[:7]]
    assert len({q.id for q in many}) == rg._BLOCK + 5


def test_partial_credit_is_dropped_unless_asked_for() -> None:
    task = tasks.get("word_sorting")
    q = task.questions(1, seed=0)[0]
    shuffled = ", ".join(reversed((q.answer or "").split(", ")))
    assert 0.0 < rg.raw_score(shuffled, q) < 1.0  # Reasoning-Gym gives partial credit ...
    assert task.score(q, f"<<<{shuffled}>>>") == 0.0  # ... the reward is outcome-only
    lenient = rg.reasoning_gym_task("word_sorting", partial_credit=True)
    assert 0.0 < lenient.score(q, f"<<<{shuffled}>>>") < 1.0


def _rg_own_score(answer: str, q: Question) -> float:
    entry = {"question": "", "answer": q.answer, "metadata": q.metadata["rg_metadata"]}
    return rg._scorer(q.metadata["dataset"], q.metadata["config"]).score_answer(answer, entry)


def test_loose_verifiers_are_made_strict() -> None:
    figlet = tasks.get("figlet_font")
    q = next(x for x in figlet.questions(40, seed=0, difficulty=5) if len(x.answer or "") >= 11)
    gold = q.answer or ""
    typo = gold[:-1] + ("A" if gold[-1] != "A" else "B")
    assert figlet.score(q, f"<<<{gold.lower()}>>>") == 1.0
    assert _rg_own_score(typo, q) == 1.0  # Reasoning-Gym: 0.1 per letter in place, capped at 1
    assert figlet.score(q, f"<<<{typo}>>>") == 0.0

    sorting = tasks.get("number_sorting")
    q = sorting.questions(1, seed=0)[0]
    values = json.loads((q.answer or "").replace("'", '"'))
    at = -1 if q.metadata["rg_metadata"]["direction"] == "ascending" else 0  # nudging the max keeps the order
    values[at] = str(round(float(values[at]) + 0.5, 3))
    nudged = str(values)
    assert _rg_own_score(nudged, q) == 1.0  # Reasoning-Gym: any value within 1.0 passes
    assert sorting.score(q, f"<<<{nudged}>>>") == 0.0
    assert sorting.score(q, f"<<<{q.answer}>>>") == 1.0


def test_metadata_is_json_and_scores_after_reload() -> None:
    task = tasks.get("letter_counting")
    for q in task.questions(5, seed=9, difficulty=4):
        back = Question.from_dict(json.loads(json.dumps(q.to_dict())))
        assert back == q
        assert set(back.metadata) == {"dataset", "difficulty", "seed", "index", "config", "rg_metadata"}
        assert task.score(back, f"<<<{q.answer}>>>") == 1.0


def test_generation_and_scoring_print_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    # bf prints while generating and tower_of_hanoi while scoring a bad move
    tasks.get("bf").questions(3, seed=0)
    hanoi = tasks.get("tower_of_hanoi")
    q = hanoi.questions(1, seed=0)[0]
    assert hanoi.score(q, "<<<Move disk 1 from Peg 1 to Peg 9>>>") == 0.0
    out = capsys.readouterr()
    assert out.out == ""


def test_unusable_config_raises_instead_of_looping(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rg, "_rg_score", lambda *a, **k: 0.0)
    with pytest.raises(rg.ReasoningGymError, match="fail the dataset's own verifier"):
        tasks.get("gcd").questions(3, seed=0)


@pytest.mark.parametrize(
    ("name", "gold", "wrong"),
    [("complex_arithmetic", "-11.0 + 10.0i", "-21.0 + 10.0i"), ("quantum_lock", "A → B → C", "A → B")],
)
def test_metadata_aware_corruptions(name: str, gold: str, wrong: str) -> None:
    corrupt = tasks.get(name).extra["corrupt"]
    q = Question("x", name, "", gold, {})
    assert corrupt(gold, q) == wrong


def test_an_entry_that_fails_to_generate_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    # countdown's generator gives up on a few indices ("Failed to generate valid expression")
    from reasoning_gym.arithmetic.gcd import GCDDataset

    real = GCDDataset.__getitem__
    tasks_before = tasks.get("gcd").questions(4, seed=0)

    def flaky(self, idx):  # type: ignore[no-untyped-def]
        if idx == 1:
            raise ValueError("Failed to generate valid expression after 100 attempts")
        return real(self, idx)

    monkeypatch.setattr(GCDDataset, "__getitem__", flaky)
    got = tasks.get("gcd").questions(4, seed=0)
    assert [q.prompt for q in got] == [q.prompt for q in tasks_before[:1] + tasks_before[2:]] + [got[3].prompt]
    assert [q.id for q in got] == [f"gcd/0/{i}" for i in range(4)]
    monkeypatch.setattr(GCDDataset, "__getitem__", lambda self, idx: (_ for _ in ()).throw(ValueError("no")))
    with pytest.raises(rg.ReasoningGymError, match="entries failed"):
        tasks.get("gcd").questions(3, seed=0)


def test_emoji_decoding_skips_the_base_emojis_own_selector() -> None:
    from r1ci.tasks.reasoning_gym_programs import solve_emoji_mystery

    payload = "".join(chr(0xFE00 + b) if b < 16 else chr(0xE0100 + b - 16) for b in b"Hi there.")
    assert solve_emoji_mystery(f"Decode the sentence from the emoji: \u2764\ufe0f{payload}\n") == "Hi there."
    assert solve_emoji_mystery(f"Decode the sentence from the emoji: \U0001f600{payload}\n") == "Hi there."


def test_countdown_program_uses_every_number_once() -> None:
    from r1ci.tasks.reasoning_gym_programs import solve_countdown

    numbers = [29, 170, 60, 30, 122, 119, 136, 184, 184]
    text = f"Find a way to make 922 using all of these numbers: {', '.join(map(str, numbers))}.\nEach number once."
    expr = solve_countdown(text)
    assert sorted(int(x) for x in re.findall(r"\d+", expr)) == sorted(numbers)
    assert eval(expr) == 922


def test_a_task_without_the_knob_ignores_a_difficulty_like_bbh_does() -> None:
    # `r1ci sft synth -o difficulty=5` / eval --difficulty ask it of every task; jugs has no knob
    jugs = tasks.get("jugs")
    assert jugs.difficulties == ()
    assert jugs.questions(2, seed=0, difficulty=5) == jugs.questions(2, seed=0)
