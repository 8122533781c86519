"""Constrained linear arrangement: deduce the cards an opponent played from your cards and the results.

Three card games (five elements, jungle-chess animals, stick-tiger-chicken-worm). Every card is
played at most once per player. Several opponent sequences can fit the results, so the checker
replays the rounds instead of comparing with one gold. In the five-elements game each round is
judged from *your* card only (that is the reading all published golds satisfy); our prompts
say so explicitly.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from r1ci.tasks.base import Question, Sample
from r1ci.tasks.symbench._helpers import (
    first_rejected,
    parse_items,
    program,
    published_samples,
)

DESCRIPTION = "Deduce an opponent's card sequence from your own cards and the round results."
CARDS = {"elements": "ABCDE", "animal": "ABCDEFGH", "stick_game": "ABCD"}

_RULES = {
    "elements": (
        "Both parties, A and B, each hold five cards representing the five elements: Wood (A), Fire (B), "
        "Earth (C), Metal (D) and Water (E). Each card can only be used once. Both players play one card per "
        "round simultaneously, and the referee announces the result of each round.\n"
        "Known relations:\n"
        "1. Generation: Wood generates Fire, Fire generates Earth, Earth generates Metal, Metal generates Water, "
        "Water generates Wood.\n"
        "2. Overcoming: Wood overcomes Earth, Earth overcomes Water, Water overcomes Fire, Fire overcomes Metal, "
        "Metal overcomes Wood.\n"
        "Rules (each round is judged from your card only):\n"
        "1. If your card overcomes the opponent's card, you win.\n"
        "2. If your card generates the opponent's card, you lose.\n"
        "3. In every other case (the same card, or the opponent's card generates or overcomes yours) the round "
        "is a draw."
    ),
    "animal": (
        "Both parties, A and B, play a game similar to Jungle Chess. Each player has 8 animal pieces, ranked from "
        "largest to smallest: Elephant (A), Lion (B), Tiger (C), Leopard (D), Wolf (E), Dog (F), Cat (G) and "
        "Mouse (H). Both players reveal one piece per round simultaneously and the referee announces the result.\n"
        "Rules:\n"
        "1. A larger piece captures a smaller one: the player with the larger piece wins the round.\n"
        "2. Identical pieces capture each other: the round is a draw.\n"
        "3. Exception: the Mouse captures the Elephant (the Mouse's owner wins), and the Elephant cannot capture "
        "the Mouse.\n"
        "4. Each piece can only be used once."
    ),
    "stick_game": (
        "Both parties, A and B, are playing a game called \"Stick, Tiger, Chicken\". Each person has four cards: "
        "Stick (A), Tiger (B), Chicken (C) and Worm (D). Each card can only be used once. Both players play one "
        "card per round simultaneously and a referee announces the result.\n"
        "Rules:\n"
        "1. Stick beats Tiger, Tiger beats Chicken, Chicken beats Worm and Worm beats Stick (a cycle).\n"
        "2. If both players play the same card, or two cards that are not neighbours in this cycle (Stick and "
        "Chicken, or Tiger and Worm), the round is a draw."
    ),
}

# difficulty -> (games allowed, rounds range)
_LEVELS = {1: (("stick_game", "elements"), (2, 3)), 2: (("stick_game", "elements", "animal"), (3, 3)),
           3: (("stick_game", "elements", "animal"), (3, 4)), 4: (("elements", "animal"), (4, 5)),
           5: (("animal",), (5, 7))}


def round_result(game: str, mine: str, theirs: str) -> str:
    """'win', 'loss' or 'draw' for the player holding `mine`."""
    if mine == theirs:
        return "draw"
    if game == "elements":
        generates = {"A": "B", "B": "C", "C": "D", "D": "E", "E": "A"}
        overcomes = {"A": "C", "C": "E", "E": "B", "B": "D", "D": "A"}
        if overcomes[mine] == theirs:
            return "win"
        return "loss" if generates[mine] == theirs else "draw"
    if game == "animal":
        if {mine, theirs} == {"A", "H"}:
            return "win" if mine == "H" else "loss"
        return "win" if mine < theirs else "loss"  # A (Elephant) is the largest
    if game == "stick_game":
        beats = {"A": "B", "B": "C", "C": "D", "D": "A"}
        if beats[mine] == theirs:
            return "win"
        return "loss" if beats[theirs] == mine else "draw"
    raise ValueError(f"unknown game {game!r}")


def consistent(data: dict, theirs: list[str]) -> bool:
    cards = {"elements": "ABCDE", "animal": "ABCDEFGH", "stick_game": "ABCD"}[data["game"]]
    return (
        len(theirs) == len(data["moves"])
        and len(set(theirs)) == len(theirs)
        and all(t in cards for t in theirs)
        and all(
            round_result(data["game"], m, t) == r
            for m, t, r in zip(data["moves"], theirs, data["results"], strict=True)
        )
    )


def deduce_cards(data: dict) -> str:
    """The first opponent sequence (in card order) consistent with every announced result."""
    import itertools

    cards = {"elements": "ABCDE", "animal": "ABCDEFGH", "stick_game": "ABCD"}[data["game"]]
    for theirs in itertools.permutations(cards, len(data["moves"])):
        if consistent(data, list(theirs)):
            return ",".join(theirs)
    raise ValueError("no opponent sequence fits the results")


def _problem(game: str, moves: list[str], results: list[str]) -> str:
    rounds = "\n".join(f"Round {i}: {m}, {r}." for i, (m, r) in enumerate(zip(moves, results, strict=True), 1))
    return (
        f"{_RULES[game]}\n\n"
        "Assuming you are one of the players, deduce which card your opponent played in each round from the "
        "cards you played and the results (win/loss/draw are from your point of view).\n\n"
        f"Rounds:\n{rounds}\n\n"
        "Any sequence consistent with all the rounds is accepted. Use a list of letters, one per round, to show "
        "your answer. For example, <<<A,B,C>>>."
    )


def sample(rng: random.Random, difficulty: int) -> Sample:
    games, (lo, hi) = _LEVELS[difficulty]
    game = rng.choice(games)
    cards = CARDS[game]
    n = min(rng.randint(lo, hi), len(cards))
    moves, theirs = rng.sample(cards, n), rng.sample(cards, n)
    results = [round_result(game, m, t) for m, t in zip(moves, theirs, strict=True)]
    data = {"game": game, "moves": moves, "results": results}
    return Sample(_problem(game, moves, results), ",".join(theirs), data)


def check(answer: str, q: Question) -> bool:
    items = parse_items(answer)
    if items is None:
        return False
    return consistent(q.metadata, [i.upper() for i in items])


def corrupt(gold: str, q: Question) -> str:
    cards = CARDS[q.metadata["game"]]
    theirs = gold.split(",")
    variants = [",".join([*theirs[:i], c, *theirs[i + 1 :]]) for i in range(len(theirs)) for c in cards]
    return first_rejected(gold, q, check, [*variants, ",".join(theirs[:-1])])


def reference_program(q: Question) -> str:
    data = {k: q.metadata[k] for k in ("game", "moves", "results")}
    return program(deduce_cards, data, helpers=[round_result, consistent])


def _from_published(d: Path, problem: str, sol: Any) -> Sample:
    data = {"game": sol["game_type"], "moves": sol["player_moves"], "results": sol["results"]}
    return Sample(problem, ",".join(sol["solution"]), data)


reference = published_samples("constrained_linear_arrangement", _from_published)
