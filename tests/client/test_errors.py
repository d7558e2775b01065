"""Failed answers become the client's error tree, with the pool's own sentence and code."""

import pytest

from jupyter_fairshare.client import errors
from jupyter_fairshare.client.base import error_for
from jupyter_fairshare.client.transport import Response

WHERE = "http://pool.test/api/v1/jobs"


def _response(status, body):
    import json

    return Response(status, {"content-type": "application/json"}, json.dumps(body).encode())


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, errors.BadToken),
        (403, errors.BadToken),
        (402, errors.CreditsTooLow),
        (404, errors.JobNotFound),
        (409, errors.BadRequest),
        (413, errors.PayloadTooLarge),
        (422, errors.BadRequest),
        (500, errors.PoolError),
        (503, errors.PoolError),
    ],
)
def test_each_failure_status_becomes_its_error_with_the_pools_sentence(status, error):
    exc = error_for(_response(status, {"detail": "The pool's own sentence."}), WHERE)
    assert type(exc) is error and str(exc) == "The pool's own sentence."


def test_the_pools_machine_readable_code_is_kept_on_the_error():
    assert error_for(_response(409, {"detail": "No result.", "code": "no_result"}), WHERE).code == "no_result"
    assert error_for(_response(409, {"detail": "No result."}), WHERE).code is None


def test_credits_too_low_carries_the_estimate_and_balance_when_the_pool_sends_them():
    exc = error_for(_response(402, {"detail": "Too low.", "estimate": 1.5, "balance": 0.25}), WHERE)
    assert (exc.estimate, exc.balance) == (1.5, 0.25)


def test_payload_too_large_says_the_size_sent_when_the_pool_gives_no_sentence():
    exc = error_for(_response(413, {}), WHERE, payload_size=1234)
    assert "1234 bytes" in str(exc) and exc.size == 1234


def test_an_answer_that_is_not_json_keeps_its_text_as_the_sentence():
    exc = error_for(Response(502, {}, b"Bad gateway from the proxy\n"), WHERE)
    assert isinstance(exc, errors.PoolError) and str(exc) == "Bad gateway from the proxy"


def test_a_failure_without_a_sentence_names_the_url_and_what_to_do():
    exc = error_for(_response(500, {}), WHERE)
    assert WHERE in str(exc) and "try again" in str(exc)


def test_no_pool_at_a_url_names_it_and_how_to_start_one():
    message = str(errors.PoolUnreachable("http://127.0.0.1:1", "ConnectError"))
    assert "http://127.0.0.1:1 (ConnectError)" in message and "fairshare pool serve" in message


def test_an_error_the_user_causes_shows_in_ipython_as_one_line_with_its_sentence(capsys):
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.user_ns["errors"] = errors
    shell.run_cell("def submit():\n    raise errors.PoolUnreachable('http://127.0.0.1:1', 'ConnectError')\nsubmit()")
    shown = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert shown == [
        "PoolUnreachable: No fairshare pool answers at http://127.0.0.1:1 (ConnectError); start one with "
        "`fairshare pool serve` or point FAIRSHARE_URL at a running pool."
    ]


def test_every_error_of_the_tree_renders_as_its_name_and_sentence():
    error = errors.CreditsTooLow("The balance does not cover the estimate; ask for credits.")
    assert error._render_traceback_() == ["CreditsTooLow: The balance does not cover the estimate; ask for credits."]
    remote = errors.RemoteError("ValueError", "bad", ["Traceback:\n", "  x\n"])
    assert remote._render_traceback_() == ["Traceback:", "  x"]
