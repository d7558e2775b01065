"""The pool's settings file: what it may say and what the pool makes of it."""

from __future__ import annotations

import pytest

from jupyter_fairshare.pool import config


def test_workers_preload_numpy_pandas_and_sklearn_unless_the_file_names_other_modules(tmp_path):
    assert config.load().preload == ["numpy", "pandas", "sklearn"]
    path = tmp_path / "pool.toml"
    path.write_text('preload = ["scipy", "matplotlib.pyplot"]\n')
    assert config.load(path).preload == ["scipy", "matplotlib.pyplot"]
    path.write_text("preload = []\n")
    assert config.load(path).preload == []


def test_a_preload_that_is_not_a_list_of_names_is_refused_with_how_to_write_it(tmp_path):
    path = tmp_path / "pool.toml"
    path.write_text('preload = "pandas"\n')
    with pytest.raises(ValueError, match=r"preload is a list of module names, like preload = \["):
        config.load(path)
