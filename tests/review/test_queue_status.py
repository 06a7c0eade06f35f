"""``LabelStore.queue_status``: what an annotator has left, and why an empty queue is empty."""

from __future__ import annotations

import pytest


@pytest.fixture
def filled(store, pair_items):
    store.add_items(pair_items[:3])
    return store


def test_an_open_queue_counts_what_next_item_still_gives(filled):
    status = filled.queue_status("ana")
    assert (status["done"], status["remaining"], status["empty"]) == (0, 3, None)
    first = filled.next_item("ana")
    filled.submit(first.id, "ana", "A")
    assert (filled.queue_status("ana")["done"], filled.queue_status("ana")["remaining"]) == (1, 2)


def test_no_items(store):
    status = store.queue_status("ana")
    assert status["empty"] == "no_items" and status["message"].startswith("No review items in the store yet")


def test_done_covered_and_not_assigned_are_told_apart(filled):
    for item in filled.items():
        filled.submit(item.id, "ana", "tie")
    assert filled.queue_status("ana")["empty"] == "done"
    # a second annotator with overlap 1: every item already has its one verdict
    ben = filled.queue_status("ben")
    assert (ben["empty"], ben["remaining"], ben["overlap"]) == ("covered", 0, 1)
    assert "raise the overlap" in ben["message"]
    assert filled.next_item("ben") is None
    filled.set_overlap(2)
    assert filled.queue_status("ben")["remaining"] == 3 and filled.next_item("ben") is not None
    filled.assign(["ana", "cy"], overlap=2)
    dee = filled.queue_status("dee")  # open queue: overlap 2 met by ana and cy? cy has none done yet
    assert dee["remaining"] == 3  # nobody but ana has a verdict, so dee may still take them
    for item in filled.items():
        filled.submit(item.id, "cy", "A")
    dee = filled.queue_status("dee")
    assert (dee["empty"], dee["remaining"]) == ("not_assigned", 0)
    assert dee["message"].startswith("No items are assigned to you: the items are assigned to ana, cy")
    cy = filled.queue_status("cy")
    assert (cy["empty"], cy["done"], cy["assigned"]) == ("done", 3, 3)
