"""Drift over time: periods of a date field, unseen terms, and a planted new-vocabulary period."""

from __future__ import annotations

import json
import math

import pytest

from workbench.evaluation.drift import drift_by_period, period_of, read_times, terms
from workbench.evaluation.perplexity import DocumentScore


def _doc(nll_sum: float, n_bytes: int) -> DocumentScore:
    import numpy as np

    nll = np.full(4, nll_sum / 4)
    return DocumentScore(nll=nll, top1_prob=nll, top1_correct=nll > 0, sum_p2=nll, target_prob=nll,
                         token_ids=np.zeros(4, dtype=np.int64), n_bytes=n_bytes, n_words=4)


def test_periods_of_dates():
    assert period_of("2024-03-17") == "2024-03"
    assert period_of("2024-11-02T10:00:00", "quarter") == "2024-Q4"
    assert period_of("2024-03", "year") == "2024"
    assert period_of(2023) == "2023"
    assert period_of("soon") is None and period_of(None) is None


def test_times_from_jsonl_and_csv(tmp_path):
    jsonl = tmp_path / "held.jsonl"
    jsonl.write_text(json.dumps({"id": "a", "text": "x", "date": "2024-01-05"}) + "\n"
                     + json.dumps({"text": "y", "date": "2024-02-01"}) + "\n", encoding="utf-8")
    assert read_times(jsonl, "date") == {"a": "2024-01-05", "held-1": "2024-02-01"}
    csv_file = tmp_path / "held.csv"
    csv_file.write_text("text,published\nx,2023-05-01\ny,2023-06-01\n", encoding="utf-8")
    assert read_times(csv_file, "published") == {"held-0": "2023-05-01", "held-1": "2023-06-01"}


def test_a_planted_new_vocabulary_period_shows_drift():
    vocabulary = set(terms("The patient took warfarin and the INR was checked every week by the clinic."))
    old = ["The patient took warfarin and the INR was checked.", "The clinic checked the INR every week."]
    new = ["The patient took zorvaximab and quellitide was checked.", "Quellitide with zorvaximab every week."]
    ids = ["o1", "o2", "n1", "n2"]
    times = {"o1": "2024-01-03", "o2": "2024-01-20", "n1": "2024-06-02", "n2": "2024-06-30"}
    base = [_doc(40, 50), _doc(44, 50), _doc(60, 50), _doc(64, 50)]
    adapted = [_doc(30, 50), _doc(34, 50), _doc(58, 50), _doc(62, 50)]
    drift = drift_by_period(ids, old + new, times, "month", base, adapted, vocabulary)
    first, last = drift["periods"]
    assert (first["period"], last["period"]) == ("2024-01", "2024-06")
    assert first["unseen_term_rate"] == 0.0
    # the June terms of four letters or more: patient took zorvaximab quellitide checked | quellitide with zorvaximab every week
    assert last["unseen_term_rate"] == pytest.approx(5 / 10)  # zorvaximab, quellitide twice each, with once
    assert [t["term"] for t in last["new_terms"]] == ["zorvaximab", "quellitide", "with"]
    assert first["adapted_bits_per_byte"] == pytest.approx(64 / (100 * math.log(2)))
    assert last["adapted_bits_per_byte"] == pytest.approx(120 / (100 * math.log(2)))
