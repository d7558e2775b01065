"""The kernel side's tests share one account per test on the session's pool."""

import time

import pytest

import jupyter_fairshare as fs


@pytest.fixture
def pool(pool_server, request):
    pool = fs.connect(pool_server.url, pool_server.add_account(f"api-{request.node.name[:30]}-{time.monotonic_ns()}",
                                                               credits=10.0))
    yield pool
    pool.close()
