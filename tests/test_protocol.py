"""The shared vocabulary: its values are the strings stored rows, old clients and the wire hold."""

from __future__ import annotations

import json
from typing import get_type_hints

from jupyter_fairshare.protocol import FINAL_STATES, EventType, JobState, Limits, Report, StopReason


def test_states_and_events_compare_and_serialise_as_their_plain_strings():
    assert JobState.RUNNING == "running"
    assert json.dumps({"state": JobState.DONE, "type": EventType.REQUEUED}) == '{"state": "done", "type": "requeued"}'
    assert JobState("cancelled") is JobState.CANCELLED


def test_exactly_the_last_three_states_are_final_and_each_has_its_event():
    assert {state for state in JobState if state.final} == set(FINAL_STATES)
    assert FINAL_STATES == {JobState.DONE, JobState.FAILED, JobState.CANCELLED}
    assert {event.value for event in EventType if event.final} == {state.value for state in FINAL_STATES}


def test_stop_reasons_keep_the_strings_stored_jobs_and_their_owners_see():
    assert {reason.value for reason in StopReason} == {
        "time", "max cost", "memory", "cancelled", "worker lost", "worker error"
    }


def test_limits_and_report_carry_the_fields_the_pool_and_the_worker_agree_on():
    assert set(get_type_hints(Limits)) == {
        "cpus", "memory", "wall_seconds", "wall_reason", "account_key", "notebook_key", "payload_path"
    }
    assert set(get_type_hints(Report)) == {
        "state", "reason", "error", "result", "cpu_seconds", "wall_seconds", "peak_memory"
    }
    assert Report.__required_keys__ == frozenset(get_type_hints(Report))
    assert Limits.__required_keys__ == frozenset()
