"""Hand-written questions with hand-checked answers, one block per task (SymBench part 1), plus the
answer parsers they share."""

from __future__ import annotations

import itertools
import json
import string
from typing import Any

import pytest

from r1ci.tasks.base import Question
from r1ci.tasks.symbench import (
    blocksworld,
    boxlift,
    boxnet,
    cryptanalysis,
    eight_queens,
    game24,
    game_2048,
    letters,
    light_puzzles,
    logic_puzzle,
    mahjong,
    matrix_transformation,
    module_tasks,
    number_multiply,
    path_plan,
    pooling,
    reversi,
    sudoku,
)
from r1ci.tasks.symbench._helpers import cells, parse_ints, parse_numbers, parse_positions


def q(task: str, **meta: Any) -> Question:
    return Question(id=f"{task}/known", task=task, prompt="", answer=None, metadata=meta)


def ok(module: Any, answer: str, question: Question) -> bool:
    """Score through the task (extraction included), as training does."""
    return module_tasks(module)[0].score(question, f"<<<{answer}>>>") == 1.0


def test_parsers() -> None:
    assert parse_positions("0 3, 1 0, 2 4") == [(0, 3), (1, 0), (2, 4)]
    assert parse_positions("(0,3), (1,0)") == [(0, 3), (1, 0)]
    assert parse_positions("[[0, 3], [1, 0]]") == [(0, 3), (1, 0)]
    assert parse_positions("0 3, 1") is None
    assert parse_positions("a b") is None
    assert parse_ints("[[1, 2], [3, 4]]") == [1, 2, 3, 4]
    assert parse_ints("1, 2, x") is None
    assert parse_numbers("1.5, -2, 3e1") == [1.5, -2.0, 30.0]
    assert cells('["5", "3", "F", "A"]') == ["5", "3", "F", "A"]
    assert cells("*,1\n0,*") == ["*", "1", "0", "*"]


def test_game24_known() -> None:
    question = q("game24", numbers=[4, 7, 8, 8], target=24)
    assert ok(game24, "(7-(8/8))*4", question)
    assert ok(game24, "(7 - 8 / 8) * 4 = 24", question)
    assert not ok(game24, "4*7-8+8", question)  # 28
    assert not ok(game24, "(7-(8/8))*4 = 25", question)
    assert not ok(game24, "((4*7)-8)+(8/2)", question)  # 2 is not a given number, 8 used once
    assert not ok(game24, "-(4-7-8-8)+3", question)  # unary minus, extra number
    assert not ok(game24, "(7-(8/8))**4", question)
    classic = q("game24", numbers=[3, 3, 8, 8], target=24)
    assert ok(game24, "8/(3-8/3)", classic)  # needs an exact fraction in between
    assert game24.solve([3, 3, 8, 8], 24) is not None
    assert game24.solve([1, 1, 1, 1], 24) is None


def test_number_multiply_known() -> None:
    question = q("number_multiply", numbers=[-4, -583, -7904])
    assert ok(number_multiply, "-18432128", question)
    assert ok(number_multiply, "-18,432,128", question)
    assert not ok(number_multiply, "-18432127", question)
    assert not ok(number_multiply, "18432128", question)
    assert not ok(number_multiply, "-1.8432128e7", question)


def test_letters_known() -> None:
    question = q("letters", word="strawberry", letter="r")
    assert ok(letters, "Count: 3, Positions: [3, 8, 9]", question)
    assert ok(letters, "count: 3, positions: [9, 8, 3]", question)
    assert not ok(letters, "Count: 2, Positions: [3, 8]", question)
    assert not ok(letters, "Count: 3, Positions: [2, 7, 8]", question)  # 0-based
    assert not ok(letters, "Count: 3, Positions: [3, 8, 8]", question)


def test_eight_queens_known() -> None:
    question = q("eight_queens", n=8, placed=[[0, 0]], blocked=[[2, 4], [3, 7]])
    assert ok(eight_queens, "0 0, 1 4, 2 7, 3 5, 4 2, 5 6, 6 1, 7 3", question)
    assert ok(eight_queens, "(7,3), (0,0), (1,4), (2,7), (3,5), (4,2), (5,6), (6,1)", question)
    assert not ok(eight_queens, "0 0, 1 4, 2 7, 3 5, 4 2, 5 6, 6 1", question)  # seven queens
    assert not ok(eight_queens, "0 0, 1 4, 2 7, 3 5, 4 2, 5 6, 6 1, 7 4", question)  # column clash
    # a valid 8-queens solution, but it uses the blocked cell (2, 4) and lacks the pre-placed (0, 0)
    assert not ok(eight_queens, "0 3, 1 6, 2 4, 3 1, 4 5, 5 0, 6 2, 7 7", question)
    free = q("eight_queens", n=8, placed=[], blocked=[])
    assert ok(eight_queens, "0 3, 1 6, 2 4, 3 1, 4 5, 5 0, 6 2, 7 7", free)


SOLVED = ["534678912", "672195348", "198342567", "859761423", "426853791",
          "713924856", "961537284", "287419635", "345286179"]  # fmt: skip


def test_sudoku_known() -> None:
    grid = [[int(ch) for ch in row] for row in SOLVED]
    puzzle = [[0 if (r + c) % 3 == 0 else v for c, v in enumerate(row)] for r, row in enumerate(grid)]
    question = q("sudoku", puzzle=puzzle)
    assert ok(sudoku, json.dumps(grid), question)
    assert ok(sudoku, "\n".join(SOLVED), question)
    swapped = [list(row) for row in grid]
    swapped[0][0], swapped[0][1] = swapped[0][1], swapped[0][0]  # rows stay fine, columns break
    assert not ok(sudoku, json.dumps(swapped), question)
    assert not ok(sudoku, json.dumps(grid[:8]), question)
    relabelled = [[v % 9 + 1 for v in row] for row in grid]  # a valid sudoku that ignores the givens
    assert not ok(sudoku, json.dumps(relabelled), question)
    assert sudoku.solve(puzzle) is not None and sudoku.is_solution(puzzle, sudoku.solve(puzzle))


def test_light_puzzles_known() -> None:
    question = q("light_puzzles", initial=[[1, 0], [0, 1]], buttons={"A": [[1, 1], [2, 2]], "B": [[1, 2]]},
                 presses=["A", "B", "B"])
    assert ok(light_puzzles, "0,0,0,0", question)
    assert ok(light_puzzles, "[[0, 0], [0, 0]]", question)
    assert not ok(light_puzzles, "1,0,0,1", question)
    assert not ok(light_puzzles, "0,0,0", question)


def test_mahjong_known() -> None:
    peng = q("mahjong", initial="AABCDEFGHIJKL", rounds=[{"add": "A", "remove": "B"}], chi=False)
    assert ok(mahjong, "1", peng) and ok(mahjong, "Peng", peng)
    assert not ok(mahjong, "0", peng)
    chi = q("mahjong", initial="ABEGHIKLMNOPQ", rounds=[{"add": "Z", "remove": "Q"}, {"add": "C", "remove": "A"}],
            chi=True)
    assert ok(mahjong, "2", chi)  # A B + C
    no_chi = q("mahjong", initial="ABEGHIKLMNOPQ", rounds=[{"add": "Z", "remove": "Q"}, {"add": "C", "remove": "A"}],
               chi=False)
    assert ok(mahjong, "0", no_chi)
    removed_first = q("mahjong", initial="ABEGHIKLMNOPQ",
                      rounds=[{"add": "Z", "remove": "A"}, {"add": "C", "remove": "B"}], chi=True)
    assert ok(mahjong, "0", removed_first)  # A left the hand in round 1, so no A B C


def test_matrix_transformation_known() -> None:
    rotate = q("matrix_transformation", matrix=[["Q", "R"], ["J", "H"]], operations=["rotate_cw"])
    assert ok(matrix_transformation, "J,Q,H,R", rotate)
    assert ok(matrix_transformation, "[[J, Q], [H, R]]", rotate)
    assert not ok(matrix_transformation, "Q,R,J,H", rotate)
    wide = [["1", "2", "3"], ["4", "5", "6"]]
    assert ok(matrix_transformation, "1,4,2,5,3,6", q("matrix_transformation", matrix=wide, operations=["transpose"]))
    assert ok(matrix_transformation, "3,6,2,5,1,4",
              q("matrix_transformation", matrix=wide, operations=["rotate_ccw"]))
    assert ok(matrix_transformation, "6,5,4,3,2,1",
              q("matrix_transformation", matrix=wide, operations=["flip_vertical", "flip_horizontal"]))


def test_pooling_known() -> None:
    question = q("pooling", matrix=[[-1, 7, 20], [6, 16, -4], [9, 13, 7]], window=2, kind="max", stride=1)
    assert ok(pooling, "16,20,16,16", question)
    assert not ok(pooling, "16,20,16,15", question)
    avg = q("pooling", matrix=[[1, 2, 0], [3, 4, 0], [0, 0, 0]], window=2, kind="average", stride=1)
    assert ok(pooling, "2.5,1.5,1.75,1", avg)
    assert ok(pooling, "2.50, 1.50, 1.75, 1.00", avg)
    assert not ok(pooling, "2.5,1.5,1.8,1", avg)  # 1.8 is 0.05 off
    strided = q("pooling", matrix=[[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]], window=2,
                kind="min", stride=2)
    assert ok(pooling, "1,3,9,11", strided)


def test_reversi_known() -> None:
    rows = ["****", "*10*", "*01*", "****"]
    question = q("reversi", board=rows, moves=[[2, 1]], solution=reversi.play(rows, [[2, 1]]))
    assert ok(reversi, "*,*,*,*,0,0,0,*,*,0,1,*,*,*,*,*", question)
    assert ok(reversi, "****\n000*\n*01*\n****", question)
    assert not ok(reversi, "*,*,*,*,0,1,0,*,*,0,1,*,*,*,*,*", question)  # forgot to flip
    two = reversi.play(rows, [[2, 1], [1, 1]])  # white answers at (1,1): flips (2,2) diagonally
    assert "".join(two) == "1***010**01*****"


def test_game_2048_known() -> None:
    blocked = q("game_2048", grid=[[0, 16], [4, 2]], start=[0, 1], moves="dl")
    assert ok(game_2048, "16, 0, 4, 2", blocked)
    assert ok(game_2048, "16, 0\n4, 2", blocked)
    assert not ok(game_2048, "0, 16, 4, 2", blocked)
    merge = q("game_2048", grid=[[2, 2, 4], [0, 0, 0], [0, 0, 0]], start=[0, 0], moves="rr")
    assert ok(game_2048, "0, 0, 8, 0, 0, 0, 0, 0, 0", merge)  # 2+2 -> 4, then 4+4 -> 8


def test_logic_puzzle_known() -> None:
    question = q("logic_puzzle", grid=[[1, 2], [3, 1]], k=3, constraint="sum_le_4", start=[0, 1])
    assert ok(logic_puzzle, "0 1, 1 0, 0 0", question)
    assert ok(logic_puzzle, "0 1, 1 0, 1 1", question)  # another valid selection: 2 | 3 + 1
    assert not ok(logic_puzzle, "0 0, 1 0, 1 1", question)  # the top-right cell is not selected
    assert not ok(logic_puzzle, "0 1, 1 0", question)  # two cells, three required
    assert not ok(logic_puzzle, "0 1, 0 1, 1 0", question)  # the same cell twice
    product = q("logic_puzzle", grid=[[1, -2, 5], [3, -4, 6], [7, 8, 9]], k=3, constraint="product_gt_0",
                start=[0, 2])
    assert ok(logic_puzzle, "0 2, 1 0, 2 1", product)
    assert not ok(logic_puzzle, "0 2, 0 1, 2 0", product)  # row 0: -2 * 5 < 0
    assert not ok(logic_puzzle, "0 2, 1 1, 2 0", product)  # row 1 and column 1 hold just -4


def test_logic_puzzle_value_rule() -> None:
    """Our prompts require distinct values; the published grader (reference questions) does not."""
    strict = q("logic_puzzle", grid=[[1, 2], [1, 1]], k=3, constraint="sum_le_4", start=[0, 1])
    published = q("logic_puzzle", grid=[[1, 2], [1, 1]], k=3, constraint="sum_le_4", start=[0, 1],
                  distinct_values=False)
    assert not ok(logic_puzzle, "0 1, 0 0, 1 1", strict)
    assert ok(logic_puzzle, "0 1, 0 0, 1 1", published)


def test_cryptanalysis_known() -> None:
    question = q("cryptanalysis", answer=["5", "3", "F", "A"])
    assert ok(cryptanalysis, '["5", "3", "F", "A"]', question)
    assert ok(cryptanalysis, "53FA", question)
    assert ok(cryptanalysis, "5, 3, f, a", question)
    assert not ok(cryptanalysis, '["3", "5", "F", "A"]', question)
    assert not ok(cryptanalysis, '["5", "3", "F"]', question)
    assert cryptanalysis.feedback(("5", "3"), ("F", "A"), "38TA") == (
        "one number is correct but in the wrong position; one number is incorrect and too large; "
        "one letter is correct and in the correct position; one letter is incorrect and too late in the alphabet."
    )


@pytest.mark.parametrize("difficulty", [1, 3, 5])
def test_cryptanalysis_puzzles_have_exactly_one_solution(difficulty: int) -> None:
    """Brute force with the plain `signature` (not the generator's vectorised filter)."""
    for question in module_tasks(cryptanalysis)[0].questions(3, seed=21, difficulty=difficulty):
        nd = len([c for c in question.metadata["answer"] if c.isdigit()])
        guesses = question.metadata["guesses"]
        secret = question.metadata["answer"]
        for alphabet, part in ((string.digits, slice(0, nd)), (string.ascii_uppercase, slice(nd, None))):
            truth = tuple(secret[part])
            k = len(truth)
            fits = [c for c in itertools.permutations(alphabet, k)
                    if all(cryptanalysis.signature(c, tuple(g[part])) == cryptanalysis.signature(truth, tuple(g[part]))
                           for g in guesses)]
            assert fits == [truth], (question.id, len(fits))


def test_boxlift_known() -> None:
    question = q("boxlift", boxes=[50, 30, 20], lifters=[40, 30], max_steps=2)
    assert ok(boxlift, "Step 1: [(50, [0, 1])]\nStep 2: [(30, [0]), (20, [1])]", question)
    assert not ok(boxlift, "Step 1: [(50, [0])]\nStep 2: [(30, [0]), (20, [1])]", question)  # 40 < 50
    assert not ok(boxlift, "Step 1: [(50, [0, 1]), (20, [1])]\nStep 2: [(30, [0])]", question)  # lifter 1 twice
    assert not ok(boxlift, "Step 1: [(50, [0, 1])]\nStep 2: [(30, [0])]\nStep 3: [(20, [1])]", question)  # 3 > 2
    assert not ok(boxlift, "Step 1: [(50, [0, 1])]\nStep 2: [(30, [0])]", question)  # box 20 left
    assert not ok(boxlift, "Step 1: [(50, [0, 1])]\nStep 2: [(30, [0]), (30, [1])]", question)  # one 30 only
    assert not ok(boxlift, "Step 1: [(50, [0, 2])]\nStep 2: [(30, [0]), (20, [1])]", question)  # no lifter 2


def test_boxnet_known() -> None:
    state = {"0.5_0.5": ["box_red"], "0.5_1.5": ["target_red"]}
    question = q("boxnet", state=state)
    good = [{"Agent[0.5, 0.5]": "move(box_red, square[0.5, 1.5])"}, {"Agent[0.5, 1.5]": "move(box_red, target_red)"}]
    assert ok(boxnet, json.dumps(good), question)
    same_step = [{"Agent[0.5, 0.5]": "move(box_red, square[0.5, 1.5])", "Agent[0.5, 1.5]": "move(box_red, target_red)"}]
    assert not ok(boxnet, json.dumps(same_step), question)  # the box arrives only at the end of the step
    assert not ok(boxnet, json.dumps(good[:1]), question)
    assert not ok(boxnet, '[{"Agent[0.5, 0.5]": "move(box_red, target_red)"}]', question)  # target elsewhere
    dup = '[{"Agent[0.5, 0.5]": "move(box_red, square[0.5, 1.5])", "Agent[0.5, 0.5]": "move(box_red, target_red)"}]'
    assert not ok(boxnet, dup, question)
    wide = q("boxnet", state={"0.5_0.5": ["box_red"], "0.5_1.5": [], "0.5_2.5": ["target_red"]})
    assert not ok(boxnet, '[{"Agent[0.5, 0.5]": "move(box_red, square[0.5, 2.5])"}]', wide)  # not adjacent


def test_blocksworld_known() -> None:
    question = q("blocksworld", initial=[[], ["B", "A"], ["D", "C"]], goal=[[], ["A", "B", "C", "D"], []])
    plan = "Move A from 2 to 1\nMove B from 2 to 3\nMove A from 1 to 2\nMove B from 3 to 2\nMove C from 3 to 2\nMove D from 3 to 2"
    assert ok(blocksworld, plan, question)
    assert ok(blocksworld, plan.replace("from 2", "from stack2"), question)
    assert not ok(blocksworld, "Move B from 2 to 1\n" + plan, question)  # B is under A
    assert not ok(blocksworld, plan.rsplit("\n", 1)[0], question)
    assert not ok(blocksworld, plan + "\nMove D from 2 to 4", question)  # no stack 4
    assert blocksworld.read_task_file  # the reference reader is exercised in test_part1


def test_path_plan_known() -> None:
    question = q("path_plan", boxes={"red": [0.2, 0.4, 0.2, 0.4], "blue": [-0.4, -0.2, -0.4, -0.2]},
                 visit=["red"], avoid=["blue"], start=[-1.0, -1.0], end=[1.0, 1.0])
    assert ok(path_plan, "[(-1.0, -1.0), (0.3, -1.0), (0.3, 0.3), (1.0, 1.0)]", question)
    assert not ok(path_plan, "[(-1.0, -1.0), (1.0, 1.0)]", question)  # the diagonal crosses blue
    assert not ok(path_plan, "[(-1.0, -1.0), (0.0, -1.0), (1.0, 1.0)]", question)  # never enters red
    assert not ok(path_plan, "[(-1.0, -1.0), (-0.2, -1.0), (-0.2, 0.3), (0.3, 0.3), (1.0, 1.0)]", question)  # blue edge
    assert not ok(path_plan, "[(-1.0, -1.0), (-1.45, 0.0), (0.3, 0.3), (1.0, 1.0)]", question)  # wall
    assert not ok(path_plan, "[(-0.9, -1.0), (0.3, 0.3), (1.0, 1.0)]", question)  # wrong start
    assert path_plan.meets((0.0, 0.0), (0.0, 0.0), (0.0, 1.0, 0.0, 1.0))  # a point on the corner touches
