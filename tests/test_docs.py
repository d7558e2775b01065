"""The generated HTTP API reference matches the pool's OpenAPI spec as the code builds it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_the_api_reference_is_up_to_date_with_the_code():
    result = subprocess.run([sys.executable, str(ROOT / "docs" / "generate_api_reference.py"), "--check"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
