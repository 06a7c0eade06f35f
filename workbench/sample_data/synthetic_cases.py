"""Write ``synthetic_cases.jsonl``: rare-case teaching notes filled in from ``glossary.csv`` by templates.

The kind of synthetic text a domain team would make with a template engine: every note pairs a drug with
a monitoring measure and an adverse effect or interaction of the glossary, and quotes their definitions.
Deterministic (seeded); run ``python sample_data/synthetic_cases.py`` to rebuild the file.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
N_CASES = 60

OPENINGS = (
    "A rare presentation worth recording: {a} {age}-year-old {person} taking {drug} for {duration} was reviewed after {event}.",
    "Case note. A {age}-year-old {person} on long-term {drug} came to the clinic {duration} into treatment because of {event}.",
    "Teaching case: {event} in {a} {age}-year-old {person} who had been started on {drug} {duration} earlier.",
    "An uncommon problem on the ward: {a} {age}-year-old {person} receiving {drug} for {duration} developed {event}.",
)
EVENTS = ("a fall at home", "new confusion", "two days of vomiting", "an unexpected rash", "worsening breathlessness",
          "a routine blood test that looked wrong", "a change in another prescription", "a week of poor appetite")
MIDDLES = (
    "{Drug} is {drug_def} The team first checked {monitor}, which is {monitor_def} The result did not fit the "
    "expected pattern, so the pharmacist went through every medicine on the chart.",
    "The team reminded itself that {drug} is {drug_def} Because the change came without a new dose, {monitor} was "
    "requested; {monitor} is {monitor_def}",
    "Nobody had measured {monitor} since the start of treatment. As a reminder, {monitor} is {monitor_def} "
    "{Drug} itself is {drug_def}",
)
CLOSINGS = (
    "The likeliest explanation was {effect}: {effect_def} {Drug} was held, the finding was explained to the "
    "patient, and a review date was set for the following week.",
    "After discussion the team judged that {effect} explained the picture, {effect} being {effect_def} The dose "
    "of {drug} was reduced and the plan, with the reason for it, was written in the notes.",
    "The pharmacist raised {effect} as the cause. {Effect} is {effect_def} Treatment with {drug} continued at a "
    "lower dose, with {monitor} repeated after five days.",
)
AGES = (34, 47, 52, 58, 63, 67, 71, 74, 79, 83, 88)
PERSONS = ("woman", "man")
DURATIONS = ("three weeks", "two months", "six months", "a year", "several years", "ten days")


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def cases(seed: int = 7) -> list[dict]:
    with open(HERE / "glossary.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    by = {c: [r for r in rows if r["category"] == c] for c in {r["category"] for r in rows}}
    rng = random.Random(seed)
    out = []
    for i in range(N_CASES):
        drug, monitor = rng.choice(by["drug"]), rng.choice(by["monitoring"])
        effect = rng.choice(by["adverse_effect"] + by["interaction"])
        fill = {
            "age": (age := rng.choice(AGES)), "a": "an" if str(age).startswith(("8", "11", "18")) else "a", "person": rng.choice(PERSONS), "duration": rng.choice(DURATIONS),
            "event": rng.choice(EVENTS), "drug": drug["term"], "Drug": drug["term"][:1].upper() + drug["term"][1:],
            "drug_def": _lower_first(drug["definition"]), "monitor": monitor["term"],
            "monitor_def": _lower_first(monitor["definition"]), "effect": effect["term"],
            "Effect": effect["term"][:1].upper() + effect["term"][1:], "effect_def": _lower_first(effect["definition"]),
        }
        text = "\n\n".join(rng.choice(part).format(**fill) for part in (OPENINGS, MIDDLES, CLOSINGS))
        out.append({"id": f"syn-{i + 1:03d}", "title": f"{drug['term']} and {effect['term']}", "text": text})
    return out


if __name__ == "__main__":
    with open(HERE / "synthetic_cases.jsonl", "w", encoding="utf-8", newline="\n") as handle:
        for case in cases():
            handle.write(json.dumps(case, ensure_ascii=False) + "\n")
