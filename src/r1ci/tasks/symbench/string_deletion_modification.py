"""String deletion and modification: rewrite a string with ordered rules until none applies.

Semantics (reproduces all 100 published golds and their intermediate states): at each step the
*first* rule, in the listed order, whose condition holds is applied once, then the scan restarts
from rule 1; "the middle character" of a string of length n is the one at index n // 2.
Rules are data (`RuleSpec` dicts) interpreted by one small function, so the same interpreter runs
in the generator, in reference programs and on the published rules (matched by their exact text).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from r1ci.tasks.base import Question, Sample
from r1ci.tasks.symbench._helpers import (
    first_rejected,
    metadata_program,
    published_samples,
    strip_wrapping,
)

DESCRIPTION = "Rewrite a string with ordered deletion/modification rules until none applies."
MAX_STEPS = 60
"""Generated questions must finish within this many rule applications (longer ones are redrawn)."""

RuleSpec = dict[str, Any]
# when: prefix | suffix | first | first_after_start | longer_than | even_count ; then `rep` replaces the
# matched pattern, and `prepend` / `append` / `drop_last` are applied to the result.


def apply_rule(s: str, rule: dict) -> str | None:
    """The rewritten string, or None when the rule's condition does not hold."""
    when, pat, rep = rule["when"], rule.get("pat", ""), rule.get("rep", "")
    if when == "prefix":
        if not s.startswith(pat):
            return None
        out = rep + s[len(pat) :]
    elif when == "suffix":
        if not s.endswith(pat):
            return None
        out = s[: len(s) - len(pat)] + rep
    elif when in ("first", "first_after_start"):
        i = s.find(pat, 1 if when == "first_after_start" else 0)
        if i < 0:
            return None
        out = s[:i] + rep + s[i + len(pat) :]
    elif when == "longer_than":
        if len(s) <= rule["n"]:
            return None
        out = s[: len(s) // 2] + s[len(s) // 2 + 1 :]
    elif when == "even_count":
        count = s.count(rule["letter"])
        if count == 0 or count % 2:
            return None
        out = s
    else:
        raise ValueError(f"unknown rule kind {when!r}")
    out = rule.get("prepend", "") + out + rule.get("append", "")
    return out[:-1] if rule.get("drop_last") else out


def run_rules(data: dict) -> str:
    """Apply the first applicable rule, restart from rule 1, until no rule applies."""
    s = data["string"]
    for _ in range(data.get("max_steps", 10_000)):
        for rule in data["rules"]:
            t = apply_rule(s, rule)
            if t is not None:
                s = t
                break
        else:
            return s
    raise RuntimeError("rules did not reach a fixed point within max_steps")


# The published rule texts, verbatim, and their specs.
PUBLISHED_RULES: dict[str, RuleSpec] = {
    "If the string starts with 'bb', remove the second character.": {"when": "prefix", "pat": "bb", "rep": "b"},
    "If the string length is greater than 15, remove the middle character.": {"when": "longer_than", "n": 15},
    "If the string ends with 'aa', replace it with 'cc'.": {"when": "suffix", "pat": "aa", "rep": "cc"},
    "If the string prefix is 'bc', delete the first two characters and append 'aa' to the end.":
        {"when": "prefix", "pat": "bc", "rep": "", "append": "aa"},
    "If the string contains an even number of 'b's (and at least one 'b'), append 'ab' at the end.":
        {"when": "even_count", "letter": "b", "append": "ab"},
    "If the string suffix is 'bb', delete the last two characters.": {"when": "suffix", "pat": "bb", "rep": ""},
    "If the string contains 'acb', replace the first occurrence with its reverse ('bca').":
        {"when": "first", "pat": "acb", "rep": "bca"},
    "If the string suffix is 'cc', replace it with 'b' and prepend 'a' to the start.":
        {"when": "suffix", "pat": "cc", "rep": "b", "prepend": "a"},
    "If the string prefix is 'aa', remove the first character.": {"when": "prefix", "pat": "aa", "rep": "a"},
    "If the string suffix is 'ac', replace it with 'cb'.": {"when": "suffix", "pat": "ac", "rep": "cb"},
    "If the string prefix is 'ab', replace it with 'ca'.": {"when": "prefix", "pat": "ab", "rep": "ca"},
    "If the string prefix is 'cb', replace it with 'aa' and delete the last character.":
        {"when": "prefix", "pat": "cb", "rep": "aa", "drop_last": True},
    "If the string ends with 'ba', replace it with 'ab'.": {"when": "suffix", "pat": "ba", "rep": "ab"},
    "If the string contains 'bca', delete the first occurrence entirely.": {"when": "first", "pat": "bca", "rep": ""},
    "If the string contains 'abc', replace the first occurrence with 'cab'.": {"when": "first", "pat": "abc", "rep": "cab"},
    "If the string starts with 'cc', remove the first two characters.": {"when": "prefix", "pat": "cc", "rep": ""},
    "If the string starts with 'ac', replace the first two characters with 'zz'.":
        {"when": "prefix", "pat": "ac", "rep": "zz"},
    "If the string contains 'ca' (not at the start), remove the first occurrence found after the first character.":
        {"when": "first_after_start", "pat": "ca", "rep": ""},
    "If the string ends with 'ca', remove the last character.": {"when": "suffix", "pat": "ca", "rep": "c"},
    "If the string prefix is 'ca', replace it with 'bb' and append 'c' to the end.":
        {"when": "prefix", "pat": "ca", "rep": "bb", "append": "c"},
}


def describe(rule: RuleSpec) -> str:
    """Our own wording of a rule (generated questions)."""
    when, pat, rep = rule["when"], rule.get("pat", ""), rule.get("rep", "")

    def action(target: str) -> str:
        return f"replace {target} with '{rep}'" if rep else f"delete {target}"

    if when == "prefix":
        text = f"If the string starts with '{pat}', {action('that prefix')}"
    elif when == "suffix":
        text = f"If the string ends with '{pat}', {action('that suffix')}"
    elif when == "first":
        text = f"If the string contains '{pat}', {action('its first occurrence')}"
    elif when == "first_after_start":
        text = f"If '{pat}' occurs somewhere after the first character, {action('the first such occurrence')}"
    elif when == "longer_than":
        text = (f"If the string is longer than {rule['n']} characters, remove its middle character "
                "(the one at index length // 2, counting from 0)")
    else:
        text = f"If the string contains an even, non-zero number of '{rule['letter']}'s"
    extras = []
    if rule.get("prepend"):
        extras.append(f"add '{rule['prepend']}' at the start")
    if rule.get("append"):
        extras.append(f"append '{rule['append']}' at the end")
    if rule.get("drop_last"):
        extras.append("delete the last character")
    if extras:
        text += (", " if when == "even_count" else ", then ") + " and ".join(extras)
    return text + "."


# difficulty -> (number of rules, string length range)
_LEVELS = {1: (3, (6, 8)), 2: (4, (8, 11)), 3: (5, (11, 14)), 4: (6, (14, 17)), 5: (6, (17, 20))}


def _word(rng: random.Random, lo: int, hi: int) -> str:
    return "".join(rng.choice("abc") for _ in range(rng.randint(lo, hi)))


def _random_rule(rng: random.Random) -> RuleSpec:
    when = rng.choice(["prefix", "prefix", "suffix", "suffix", "first", "first", "first_after_start",
                       "longer_than", "even_count"])
    if when == "longer_than":
        return {"when": when, "n": rng.randint(8, 15)}
    if when == "even_count":
        return {"when": when, "letter": rng.choice("abc"), "append": _word(rng, 1, 2)}
    pat = _word(rng, 2, 3 if when == "first" else 2)
    rule: RuleSpec = {"when": when, "pat": pat, "rep": _word(rng, 0, len(pat))}
    if rule["rep"] == pat:
        rule["rep"] = pat[::-1] if pat[::-1] != pat else ""
    extra = rng.random()
    if extra < 0.15:
        rule["append"] = _word(rng, 1, 2)
    elif extra < 0.25:
        rule["prepend"] = _word(rng, 1, 1)
    elif extra < 0.35:
        rule["drop_last"] = True
    return rule


def _problem(texts: list[str], s: str) -> str:
    return "\n".join([
        "Cycle through the following operations one at a time until no further operations can be performed:",
        "",
        *(f"{i}. {t}" for i, t in enumerate(texts, 1)),
        "",
        "At every step apply only the first operation (in the order listed) whose condition holds, then start "
        "checking again from operation 1. Stop when no operation applies.",
        "",
        f'For the string "{s}", what is the final string after performing all operations?',
        "",
        'Provide your answer as a string in the following format: <<<"some_final_string">>>',
    ])


def sample(rng: random.Random, difficulty: int) -> Sample:
    n_rules, (lo, hi) = _LEVELS[difficulty]
    while True:  # redraw until the rule set terminates quickly and does real work
        rules = [_random_rule(rng) for _ in range(n_rules)]
        conditions = {(r["when"], r.get("pat"), r.get("letter")) for r in rules}
        if len(conditions) < n_rules:  # a repeated condition would make the later rule dead text
            continue
        s = _word(rng, lo, hi)
        data = {"string": s, "rules": rules, "max_steps": MAX_STEPS}
        try:
            final = run_rules(data)
        except RuntimeError:
            continue
        if final and final != s:
            return Sample(_problem([describe(r) for r in rules], s), final, data)


def check(answer: str, q: Question) -> bool:
    guess = strip_wrapping(answer).replace(" ", "")
    return q.answer is not None and guess == q.answer


def corrupt(gold: str, q: Question) -> str:
    return first_rejected(gold, q, check, [gold[:-1], gold + gold[-1], q.metadata["string"], "a" + gold])


reference_program = metadata_program(run_rules, "string", "rules", helpers=[apply_rule])


def _from_published(d: Path, problem: str, sol: Any) -> Sample:
    unknown = [t for t in sol["selected_rules"] if t not in PUBLISHED_RULES]
    if unknown:
        raise ValueError(f"{d}: rule text(s) without a spec: {unknown}; add them to PUBLISHED_RULES")
    rules = [PUBLISHED_RULES[t] for t in sol["selected_rules"]]
    return Sample(problem, sol["final_string"], {"string": sol["initial_string"], "rules": rules})


reference = published_samples("string_deletion_and_modification", _from_published)
