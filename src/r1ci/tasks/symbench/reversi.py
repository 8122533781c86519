"""Reversi: given a position and the next landing squares, write the board after those rounds.

Generator: start from the standard opening, play some random legal moves to reach the shown
position, then list the next legal moves (black = "you" first, alternating); the answer is the board
after them with standard Reversi flipping (every straight line of opponent pieces closed by one of
the mover's pieces flips). Difficulty: board 4 -> 8, more rounds. Checker: n*n cells (`0`, `1`, `*`)
row-major, comma-separated (rows written as `**01` are accepted too), compared exactly.

Reference set: `reversi_dataset` (200 questions). Note: in the published set the board shown as
"the previous round" is already the board after the listed moves (its generator printed the final
state), and the gold equals it; we keep the published question and gold as they are.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

from r1ci.tasks.base import Question, Sample
from r1ci.tasks.symbench._helpers import cells, program_from, read_question_folder

DESCRIPTION = "Reversi: write the board after the listed landing moves."

# difficulty -> (board size, opening moves played before the shown position, rounds to simulate)
LEVELS: dict[int, tuple[int, tuple[int, int], int]] = {
    1: (6, (0, 4), 1),
    2: (6, (2, 6), 2),
    3: (6, (4, 10), 2),
    4: (8, (6, 14), 3),
    5: (8, (8, 20), 4),
}

def opening(n: int) -> list[list[str]]:
    board = [["*"] * n for _ in range(n)]
    m = n // 2
    board[m - 1][m - 1], board[m][m] = "1", "1"
    board[m - 1][m], board[m][m - 1] = "0", "0"
    return board


def flips(board: list[list[str]], r: int, c: int, player: str) -> list[tuple[int, int]]:
    """Cells flipped if `player` lands on (r, c) (0-based); empty when the move is illegal."""
    n = len(board)
    if board[r][c] != "*":
        return []
    other = "1" if player == "0" else "0"
    out: list[tuple[int, int]] = []
    for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0), (1, 1), (-1, -1), (1, -1), (-1, 1)):
        line = []
        i, j = r + dr, c + dc
        while 0 <= i < n and 0 <= j < n and board[i][j] == other:
            line.append((i, j))
            i, j = i + dr, j + dc
        if line and 0 <= i < n and 0 <= j < n and board[i][j] == player:
            out.extend(line)
    return out


def play(rows: list[str], moves: list[list[int]]) -> list[str]:
    """Apply 1-based landing squares, black ('0') first and alternating; returns the flattened board."""
    board = [list(row) for row in rows]
    for k, (r, c) in enumerate(moves):
        player = "0" if k % 2 == 0 else "1"
        for i, j in flips(board, r - 1, c - 1, player):
            board[i][j] = player
        board[r - 1][c - 1] = player
    return [v for row in board for v in row]


def _legal(board: list[list[str]], player: str) -> list[tuple[int, int]]:
    n = len(board)
    return [(r, c) for r in range(n) for c in range(n) if flips(board, r, c, player)]


def _apply(board: list[list[str]], r: int, c: int, player: str) -> None:
    for i, j in flips(board, r, c, player):
        board[i][j] = player
    board[r][c] = player


def problem_text(rows: list[str], moves: list[list[int]]) -> str:
    n = len(rows)
    who = ("Your", "The opponent's")
    rounds = "\n".join(f"Round {k + 1}: {who[k % 2]} landing position is ({r},{c})" for k, (r, c) in enumerate(moves))
    empty = ",".join(["*"] * n * n)
    return (
        "There is a game similar to Reversi. On an n*n grid (where n is even), four pieces are placed in the "
        "center, two black and two white, arranged diagonally. Black pieces are represented by 0, white pieces "
        "by 1, and empty spaces by *.\nRules:\n"
        "1. Two players take turns placing pieces, one playing black and the other playing white.\n"
        "2. Each player places one piece on an empty space during their turn.\n"
        "3. After placing a piece, if there are any of the opponent's pieces between the new piece and another "
        "of the player's pieces (in the same row, column, or diagonal, with no empty space between), those "
        "pieces will be flipped to the player's color. That is, 0 becomes 1, or 1 becomes 0.\n"
        "All coordinates start from the first row and first column, and the coordinate (a, b) represents the "
        "cell in the a-th row and b-th column.\n\n"
        f"Given: n={n}, you play black chess.\n\n"
        f"The previous round of the game was: \n" + "\n".join(rows) + f"\n\n{rounds}\n\n"
        "Please write down the game situation after these rounds, row by row, as comma-separated cells.\n"
        f"For example, <<<{empty}>>> represents the empty grid."
    )


def sample(rng: random.Random, difficulty: int) -> Sample:
    n, (pre_lo, pre_hi), n_rounds = LEVELS[difficulty]
    while True:
        board = opening(n)
        pre = rng.randint(pre_lo, pre_hi) // 2 * 2  # even, so black ("you") moves first in the listed rounds
        ok = True
        for k in range(pre):
            player = "0" if k % 2 == 0 else "1"
            options = _legal(board, player)
            if not options:
                ok = False
                break
            _apply(board, *rng.choice(options), player)
        if not ok:
            continue
        rows = ["".join(row) for row in board]
        moves: list[list[int]] = []
        for k in range(n_rounds):
            player = "0" if k % 2 == 0 else "1"
            options = _legal(board, player)
            if not options:
                break
            r, c = rng.choice(options)
            _apply(board, r, c, player)
            moves.append([r + 1, c + 1])
        if moves:
            break
    solution = play(rows, moves)
    meta = {"board": rows, "moves": moves, "solution": solution}
    return Sample(problem_text(rows, moves), ",".join(solution), meta)


def parse_board(answer: str, n: int) -> list[str] | None:
    toks = cells(answer)
    if toks is None:
        return None
    if len(toks) == n and all(len(t) == n for t in toks):
        toks = [ch for t in toks for ch in t]
    return toks


def check(answer: str, q: Question) -> bool:
    solution: list[str] = q.metadata["solution"]
    n = int(len(solution) ** 0.5)
    return parse_board(answer, n) == solution


def reference(root: Path) -> list[Sample]:
    out = []
    for question, sol in read_question_folder(root / "reversi_dataset"):
        shown = re.search(r"previous round of the game was:\s*\n((?:[01*]+\n)+)", question + "\n")
        rows = shown.group(1).split() if shown else []
        solution = [t.strip() for t in sol["solution"].split(",")]
        meta = {"board": rows, "moves": sol["moves"], "solution": solution, "published": True,
                "complexity": sol.get("complexity")}
        out.append(Sample(question, sol["solution"], meta))
    return out


def corrupt(gold: str, q: Question) -> str:
    """The board before the rounds (a plausible 'forgot to flip' answer), else one cell changed."""
    before = ",".join("".join(q.metadata["board"]))
    if before and not check(before, q):
        return before
    vals = gold.split(",")
    vals[0] = "0" if vals[0] != "0" else "1"
    return ",".join(vals)


def reference_program(q: Question) -> str | None:
    m = q.metadata
    if m.get("published"):
        return None  # the published boards already include the moves (see module docstring)
    return program_from([flips, play], f"','.join(play({m['board']!r}, {m['moves']!r}))")
