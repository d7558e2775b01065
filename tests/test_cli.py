"""The command line: admin commands print what an operator needs, tokens last."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def fairshare(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jupyter_fairshare.cli", *args], capture_output=True, text=True,
                          timeout=120, env=env)


def test_account_add_prints_the_token_as_its_last_line_and_list_shows_the_account(tmp_path):
    db = f"sqlite:///{tmp_path / 'pool.db'}"
    added = fairshare("admin", "--db", db, "account", "add", "lin", "--tier", "newcomer", "--credits", "3")
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip().splitlines()[-1]
    assert token.startswith("fs_") and len(token) > 30
    topped = fairshare("admin", "--db", db, "account", "topup", "lin", "2")
    assert "5.0000" in topped.stdout
    listed = fairshare("admin", "--db", db, "account", "list")
    assert "lin" in listed.stdout and "newcomer" in listed.stdout and token not in listed.stdout


def test_admin_mistakes_get_one_sentence_and_a_failing_exit(tmp_path):
    db = f"sqlite:///{tmp_path / 'pool.db'}"
    fairshare("admin", "--db", db, "account", "add", "lin", "--tier", "standard")
    again = fairshare("admin", "--db", db, "account", "add", "lin", "--tier", "standard")
    assert again.returncode == 2 and "exists already" in again.stderr
    missing = fairshare("admin", "--db", db, "account", "topup", "nobody", "1")
    assert missing.returncode == 2 and "No account named 'nobody'" in missing.stderr


def test_status_without_a_pool_says_how_to_start_one():
    result = fairshare("status", "--url", "http://127.0.0.1:9")
    assert result.returncode == 1 and "fairshare pool serve" in result.stderr


def test_status_without_any_configured_pool_says_where_it_looked(tmp_path):
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config"), "FAIRSHARE_DATA_DIR": str(tmp_path / "data")}
    for name in ("FAIRSHARE_URL", "FAIRSHARE_TOKEN"):
        env.pop(name, None)
    result = fairshare("status", env=env)
    assert result.returncode == 1 and "FAIRSHARE_URL" in result.stderr and "fairshare pool serve" in result.stderr
    assert not (tmp_path / "data" / "embedded.json").exists()  # a look starts no pool


def test_status_jobs_and_prices_find_the_pool_from_the_environment(pool_server, tmp_path):
    token = pool_server.add_account(f"cli-{time.monotonic_ns()}")
    env = {**os.environ, "FAIRSHARE_URL": pool_server.url, "FAIRSHARE_TOKEN": token,
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    status = fairshare("status", env=env)
    assert status.returncode == 0 and "CPUs free" in status.stdout
    jobs = fairshare("jobs", "--json", env=env)
    assert jobs.returncode == 0 and json.loads(jobs.stdout) == {"jobs": []}
    prices = fairshare("prices", env=env)
    assert prices.returncode == 0 and "CPU-s" in prices.stdout


def test_a_bad_token_gets_the_pools_sentence(pool_server):
    result = fairshare("jobs", "--url", pool_server.url, "--token", "fs_wrong")
    assert result.returncode == 1 and "not valid" in result.stderr


def test_node_join_asks_the_pool_for_its_sites_and_names_them_when_the_site_is_unknown(pool_server):
    result = fairshare("node", "join", pool_server.url, "--site", "nowhere", "--token", pool_server.admin_token)
    assert result.returncode == 2 and "no site named 'nowhere'" in result.stderr and "its sites are" in result.stderr


def test_node_join_with_a_token_that_may_not_share_the_cluster_gets_the_pools_sentence(pool_server):
    token = pool_server.add_account(f"not-operator-{time.monotonic_ns()}")
    result = fairshare("node", "join", pool_server.url, "--site", "local", "--token", token)
    assert result.returncode == 2 and result.stderr.startswith("fairshare: ") and "admin" in result.stderr.lower()


def test_node_join_without_a_pool_says_to_check_the_url():
    result = fairshare("node", "join", "http://127.0.0.1:9", "--site", "local", "--token", "t")
    assert result.returncode == 2 and "No pool answers at http://127.0.0.1:9" in result.stderr
