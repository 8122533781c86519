"""The short reference programs (question data as literals) that the scripted SFT teacher writes for the
Reasoning-Gym datasets stating their data plainly: they compute the gold, read no stored answer, and
stay a few lines long (the form a small model can learn from SFT)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from r1ci import tasks
from r1ci.tasks.reasoning_gym_data_programs import DATA_PROGRAMS


@pytest.mark.parametrize("dataset", sorted(DATA_PROGRAMS))
def test_short_program_prints_the_gold(dataset: str) -> None:
    task = tasks.get(dataset)
    assert task.reference_program is DATA_PROGRAMS[dataset]
    for q in task.questions(4, seed=11, difficulty=2):
        program = task.reference_program(q)
        assert len(program.strip().splitlines()) <= 4, program
        assert "rg_metadata" not in program and "re.search" not in program
        out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        assert task.score(q, f"<<<{out.stdout.strip()}>>>") == 1.0, (program, q.answer)


def test_gcd_program_states_the_numbers_of_the_question() -> None:
    q = tasks.get("gcd").questions(1, seed=3)[0]
    program = tasks.get("gcd").reference_program(q)
    numbers = q.metadata["rg_metadata"]["numbers"]
    assert all(str(n) in q.prompt for n in numbers)  # the literals are the question's own data
    assert f"numbers = {numbers!r}" in program and "math.gcd(*numbers)" in program
