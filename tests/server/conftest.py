"""pytest-jupyter's fixtures (``jp_fetch``, ``jp_serverapp``, ...) for the server extension's tests.

pytest-asyncio runs this project's coroutine tests on its own loop; the Jupyter server under
test must listen on that same loop, so pytest-jupyter's loop fixture hands it over instead
of making (and closing) a second one.
"""

import asyncio

import pytest

# pytest finds a plugin's fixtures in a conftest by name only, so all of them are imported.
from pytest_jupyter.jupyter_server import *  # noqa: F403


@pytest.fixture
async def jp_asyncio_loop():
    """The loop pytest-asyncio runs the test on."""
    yield asyncio.get_running_loop()
