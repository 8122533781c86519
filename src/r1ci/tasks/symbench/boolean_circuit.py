"""Boolean circuit: evaluate a gate-level logic circuit, or find inputs that drive it to a value.

"evaluate" questions have a unique answer (the output bits); "satisfy" questions accept any input
assignment the checker's simulation drives to the target (the gold is the generator's planted
assignment, so every satisfy question is solvable).
"""

from __future__ import annotations

import json
import random

from r1ci.tasks.base import Question, Sample
from r1ci.tasks.symbench._helpers import first_rejected, parse_int_list, program

DESCRIPTION = "Evaluate a gate-level Boolean circuit, or find inputs that set its output."
MANY_VALID_ANSWERS = True
_BINARY = ["AND", "OR", "XOR", "NAND", "NOR"]

# difficulty -> (inputs, gates, outputs for evaluate, share of satisfy questions)
_LEVELS = {1: (3, 3, 1, 0.0), 2: (4, 5, 1, 0.3), 3: (5, 7, 2, 0.5), 4: (6, 10, 2, 0.5), 5: (8, 14, 3, 0.6)}


def simulate(data: dict, inputs: list[int]) -> dict:
    """Signal values (0/1) of every input and gate, in circuit order."""
    values = {f"x{i + 1}": v for i, v in enumerate(inputs)}
    for name, op, args in data["gates"]:
        a = values[args[0]]
        b = values[args[1]] if len(args) > 1 else 0
        if op == "NOT":
            out = 1 - a
        elif op in ("AND", "NAND"):
            out = a & b
        elif op in ("OR", "NOR"):
            out = a | b
        elif op == "XOR":
            out = a ^ b
        else:
            raise ValueError(f"unknown gate {op!r}")
        values[name] = 1 - out if op in ("NAND", "NOR") else out
    return values


def solve_circuit(data: dict) -> str:
    """evaluate: the output bits; satisfy: the first input assignment (binary counting order) that works."""
    import itertools

    if data["kind"] == "evaluate":
        values = simulate(data, data["inputs"])
        return str([values[o] for o in data["outputs"]])
    for bits in itertools.product([0, 1], repeat=data["n_inputs"]):
        if simulate(data, list(bits))[data["outputs"][0]] == data["target"]:
            return str(list(bits))
    raise ValueError("no input assignment reaches the target")


def _gate_text(name: str, op: str, args: list[str]) -> str:
    return f"{name} = {op}({', '.join(args)})"


def _circuit(rng: random.Random, n_inputs: int, n_gates: int) -> list[list]:
    signals = [f"x{i + 1}" for i in range(n_inputs)]
    gates: list[list] = []

    def pick() -> str:
        # Favour the newest signals so the circuit is deep rather than one flat layer.
        return rng.choice(signals[-3:]) if rng.random() < 0.6 else rng.choice(signals)

    for g in range(n_gates):
        name = f"g{g + 1}"
        if rng.random() < 0.15:
            gates.append([name, "NOT", [pick()]])
        else:
            a = pick()
            b = pick()
            while b == a:
                b = rng.choice(signals)
            gates.append([name, rng.choice(_BINARY), [a, b]])
        signals.append(name)
    return gates


def sample(rng: random.Random, difficulty: int) -> Sample:
    n_inputs, n_gates, n_outputs, p_satisfy = _LEVELS[difficulty]
    gates = _circuit(rng, n_inputs, n_gates)
    inputs = [rng.randint(0, 1) for _ in range(n_inputs)]
    circuit = "\n".join(_gate_text(*g) for g in gates)
    head = (f"A combinational logic circuit has inputs {', '.join(f'x{i + 1}' for i in range(n_inputs))} and the "
            "gates below, evaluated from top to bottom (AND, OR, XOR, NAND, NOR take two signals, NOT takes one; "
            f"signals are 0 or 1):\n\n{circuit}\n\n")
    if rng.random() < p_satisfy:
        out = gates[-1][0]
        target = simulate({"gates": gates}, inputs)[out]
        data = {"kind": "satisfy", "gates": gates, "n_inputs": n_inputs, "outputs": [out], "target": target}
        problem = (f"{head}Find values of the inputs for which {out} = {target}. Any such assignment is accepted. "
                   f"Give the input values in the order x1..x{n_inputs} as a list, for example "
                   f"<<<{json.dumps([i % 2 for i in range(n_inputs)])}>>>.")
        return Sample(problem, str(inputs), data)
    outputs = [g[0] for g in gates[-n_outputs:]]
    data = {"kind": "evaluate", "gates": gates, "n_inputs": n_inputs, "outputs": outputs, "inputs": inputs}
    assignment = ", ".join(f"x{i + 1} = {v}" for i, v in enumerate(inputs))
    asked = (f"what is the value of {outputs[0]}? Give it as a one-element list" if n_outputs == 1 else
             f"what are the values of {', '.join(outputs)}? Give them in that order as a list")
    problem = f"{head}With {assignment}, {asked}, for example <<<{json.dumps([1] * n_outputs)}>>>."
    return Sample(problem, solve_circuit(data), data)


def check(answer: str, q: Question) -> bool:
    meta = q.metadata
    if meta["kind"] == "evaluate":
        guess = parse_int_list(answer, length=len(meta["outputs"]))
        return guess is not None and guess == parse_int_list(q.answer or "")
    bits = parse_int_list(answer, length=meta["n_inputs"])
    if bits is None or any(b not in (0, 1) for b in bits):
        return False
    return simulate(meta, bits)[meta["outputs"][0]] == meta["target"]


def corrupt(gold: str, q: Question) -> str:
    bits = parse_int_list(gold) or []
    flips = [str([*bits[:i], 1 - bits[i], *bits[i + 1 :]]) for i in range(len(bits))]
    return first_rejected(gold, q, check, [*flips, str(bits[:-1])])


def reference_program(q: Question) -> str:
    keys = ("kind", "gates", "n_inputs", "outputs", "inputs", "target")
    return program(solve_circuit, {k: q.metadata[k] for k in keys if k in q.metadata}, helpers=[simulate])
