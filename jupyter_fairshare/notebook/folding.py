"""How one job event changes what the kernel knows about the job: one pure function.

The sidebar folds the same events with ``applyEventToJob`` in ``labextension/src/reducer.ts``;
both are checked against ``tests/fixtures/event_sequences.json``, so a job reads the same in
a cell's status line and in the sidebar. Change the two together, and the fixture with them.

The rules, event by event:

- ``queued``: the job waits; its position, queue length and expected start as the event gives them.
- ``started``: it runs at ``site`` (attempt ``attempt``) since the event's ``started_at``, else
  ``now``; it has no place in the queue any more.
- ``progress``: ``done`` of ``total`` tasks, when the event gives both as numbers.
- ``cost``: the credits spent so far and the cap.
- ``requeued``: its worker was lost, so it waits again; the lost run is not billed, so the cost
  goes back to 0 and the site and start are forgotten.
- ``done``, ``failed``, ``cancelled``: the event is the whole account of the ending: its reason,
  error and bill (none where it gives none), its cost (the bill's total unless it says), and
  when it ended (the event's ``finished_at``, else ``now``).
- ``output`` changes nothing here: the text is shown as it arrives, not kept.
"""

from __future__ import annotations

from typing import Any

from ..protocol import FINAL_STATES, EventType, JobState

__all__ = ["fold"]

_NOT_QUEUED = {"position": None, "queue_length": None, "expected_start": None}


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _numbers(data: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: data[k] for k in keys if _number(data.get(k))}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def fold(info: dict[str, Any], event_type: str, data: dict[str, Any], now: float) -> dict[str, Any]:
    """The job ``info`` as the event of ``event_type`` with ``data`` leaves it, at time ``now``.

    Returns a new dict and leaves ``info`` as it was; an event type it does not know changes nothing.
    """
    out = dict(info)
    if event_type == EventType.QUEUED:
        out.update(_numbers(data, ("position", "queue_length", "expected_start")), state=JobState.QUEUED.value)
    elif event_type == EventType.STARTED:
        started = data.get("started_at")
        out.update(_NOT_QUEUED, state=JobState.RUNNING.value, started_at=started if _number(started) else now)
        out.update(_numbers(data, ("attempt",)))
        if _text(data.get("site")) is not None:
            out["site"] = data["site"]
    elif event_type == EventType.PROGRESS:
        if _number(data.get("done")) and _number(data.get("total")):
            out["progress"] = {"done": data["done"], "total": data["total"]}
    elif event_type == EventType.COST:
        out.update(_numbers(data, ("cost", "max_cost")))
    elif event_type == EventType.REQUEUED:
        out.update(state=JobState.QUEUED.value, reason=_text(data.get("reason")), site=None, started_at=None, cost=0.0)
    elif event_type in FINAL_STATES:
        given = _text(data.get("state"))
        state = given if given in FINAL_STATES else event_type
        bill = data.get("bill") if isinstance(data.get("bill"), dict) else None
        total = (bill or {}).get("total")
        cost = data["cost"] if _number(data.get("cost")) else total if _number(total) else out.get("cost", 0.0)
        finished = data.get("finished_at")
        out.update(_NOT_QUEUED)
        out.update(state=str(state), reason=_text(data.get("reason")), error=_text(data.get("error")),
                   bill=bill, cost=cost, finished_at=finished if _number(finished) else now)
        if "inline" in data:
            out["inline"] = data["inline"]
    return out
