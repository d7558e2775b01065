"""Folding job events: the kernel's rules, checked on the sequences the sidebar is checked on."""

import json
from pathlib import Path

import pytest

from jupyter_fairshare.notebook.folding import fold

FIXTURE = json.loads((Path(__file__).parents[1] / "fixtures" / "event_sequences.json").read_text())


def folded(sequence: dict) -> dict:
    info = dict(FIXTURE["start"])
    for event in sequence["events"]:
        info = fold(info, event["type"], event["data"], FIXTURE["now"])
    return info


@pytest.mark.parametrize("sequence", FIXTURE["sequences"], ids=[s["name"] for s in FIXTURE["sequences"]])
def test_each_shared_sequence_folds_to_the_expected_job_fields(sequence):
    info = folded(sequence)
    assert {k: info.get(k) for k in sequence["expected"]} == sequence["expected"]


def test_the_fixture_covers_every_event_type():
    seen = {event["type"] for sequence in FIXTURE["sequences"] for event in sequence["events"]}
    assert seen == {"queued", "started", "output", "progress", "cost", "requeued", "done", "failed", "cancelled"}


def test_folding_leaves_the_given_info_as_it_was():
    info = {"id": "j1", "state": "running", "cost": 0.3, "site": "uni"}
    after = fold(info, "requeued", {"reason": "worker lost"}, 0.0)
    assert info == {"id": "j1", "state": "running", "cost": 0.3, "site": "uni"}
    assert after["cost"] == 0.0 and after["state"] == "queued"


def test_an_unknown_event_type_changes_nothing():
    info = {"id": "j1", "state": "running"}
    assert fold(info, "heartbeat", {"state": "done"}, 0.0) == info


def test_a_final_event_keeps_the_small_result_it_carries():
    inline = {"result": "AAAA", "output": []}
    info = fold({"id": "j1", "state": "running"}, "done", {"state": "done", "inline": inline, "cost": 0.0}, 5.0)
    assert info["inline"] == inline and info["finished_at"] == 5.0
