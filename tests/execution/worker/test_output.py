"""Output batching: few messages for a chatty job, prompt ones for a quiet job, text intact."""

from __future__ import annotations

import time

from jupyter_fairshare.execution.worker.output import GRACE, EventBatcher


def test_chunks_of_one_stream_written_together_go_out_as_one_message_on_close():
    sent: list[dict] = []
    batcher = EventBatcher(sent.append, interval=60.0)
    for line in ("a\n", "b\n", "c\n"):
        batcher.output("stdout", line.encode())
    batcher.close()
    assert sent == [{"type": "output", "stream": "stdout", "text": "a\nb\nc\n"}]


def test_a_quiet_jobs_output_is_due_within_the_grace_and_a_chatty_ones_waits_for_the_interval():
    sent: list[dict] = []
    batcher = EventBatcher(sent.append, interval=5.0)
    batcher.output("stdout", b"first\n")
    assert 0.0 < batcher.due() <= GRACE
    time.sleep(GRACE * 2)
    batcher.tick()
    assert [m["text"] for m in sent] == ["first\n"]
    batcher.output("stdout", b"second\n")  # right after a message: held until the interval is up
    assert batcher.due() > 4.0
    batcher.tick()
    assert len(sent) == 1


def test_streams_keep_their_order_and_progress_goes_after_the_output_of_its_batch():
    sent: list[dict] = []
    batcher = EventBatcher(sent.append, interval=60.0)
    batcher.output("stdout", b"out ")
    batcher.progress(1, 4)
    batcher.output("stderr", b"err ")
    batcher.output("stdout", b"out again")
    batcher.progress(2, 4)
    batcher.close()
    assert sent == [
        {"type": "output", "stream": "stdout", "text": "out "},
        {"type": "output", "stream": "stderr", "text": "err "},
        {"type": "output", "stream": "stdout", "text": "out again"},
        {"type": "progress", "done": 2, "total": 4},
    ]


def test_a_utf8_sequence_split_across_reads_arrives_whole_and_a_truncated_one_as_a_replacement():
    sent: list[dict] = []
    batcher = EventBatcher(sent.append, interval=60.0)
    encoded = "é".encode()
    batcher.output("stdout", encoded[:1])
    batcher.output("stdout", encoded[1:] + encoded[:1])
    batcher.close()
    assert "".join(m["text"] for m in sent) == "é\ufffd"
