"""The pool's settings: defaults that work on a laptop, overridable by a TOML file.

```toml
payload_limit = "2GB"        # largest payload a job may send
default_max_cost = 1.0       # the cap held from the balance when a job names none
max_wall_seconds = 86400
preload = ["numpy", "pandas", "sklearn"]  # imported by each worker's zygote ahead of jobs
[policy]
half_life = 604800           # seconds; usage halves this often
newcomer_reserve = 0.2
[[sites]]
name = "local"
carbon = "250"               # gCO2e/kWh, or "csv:/path/series.csv"
watts_per_cpu = 10
workers = 2                  # embedded workers for this site
```
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import platformdirs

from ..execution.worker import PRELOAD
from .policy import PolicyConfig

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_FACTORS = {"": 1, "b": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}


def parse_size(value: int | float | str) -> int:
    """``"4GB"``, ``"512MiB"``, ``"2G"`` or a number of bytes, as bytes."""
    if isinstance(value, (int, float)):
        return int(value)
    match = _SIZE.match(value)
    if not match:
        raise ValueError(f"Size {value!r} is not understood; write it like 512MB, 4GB or 2GiB.")
    number, unit = float(match.group(1)), (match.group(2) or "").lower()
    binary = "i" in unit
    base = unit[:1] if unit[:1] in "kmgt" else ""
    factor = 1024 ** "bkmgt".index(base) if binary and base else _FACTORS[base]
    return int(number * factor)


def default_data_dir() -> Path:
    """``FAIRSHARE_DATA_DIR``, else the user's data directory."""
    return Path(os.environ.get("FAIRSHARE_DATA_DIR") or platformdirs.user_data_dir("fairshare"))


@dataclass
class SiteConfig:
    name: str = "local"
    carbon: str = "250"
    watts_per_cpu: float = 10.0
    watts_per_gb: float = 0.4
    watts_per_gpu: float = 250.0
    electricity_per_kwh: float = 0.30
    workers: int = 2


@dataclass
class PoolConfig:
    db_url: str | None = None
    data_dir: Path = field(default_factory=lambda: default_data_dir())
    payload_limit: int = 2 * 10**9
    spool_threshold: int = 1 << 20  # payloads above this are files in data_dir/spool, not rows
    default_max_cost: float = 1.0
    max_wall_seconds: float = 86400.0
    dask_address: str | None = None
    worker_memory: int | None = None
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    sites: list[SiteConfig] = field(default_factory=lambda: [SiteConfig()])
    max_attempts: int = 3
    # Modules each worker imports once, ahead of jobs, so that a cell importing them pays
    # nothing for it; those not installed on a worker are skipped there.
    preload: list[str] = field(default_factory=lambda: list(PRELOAD))

    @property
    def url(self) -> str:
        from .store.db import default_url

        return self.db_url or default_url(self.data_dir)


def load(path: Path | None = None, **overrides: Any) -> PoolConfig:
    """Defaults, then the file at ``path``, then ``overrides`` (command-line options)."""
    config = PoolConfig()
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"Cannot read pool config {path}: {exc}; fix the file or leave out --config.") from None
        config = _apply(config, raw)
    return replace(config, **{k: v for k, v in overrides.items() if v is not None})


def _apply(config: PoolConfig, raw: dict[str, Any]) -> PoolConfig:
    known = {f.name for f in fields(PoolConfig)}
    unknown = set(raw) - known
    if unknown:
        raise ValueError(f"Unknown pool setting(s) {sorted(unknown)}; the settings are {sorted(known)}.")
    values = dict(raw)
    if "payload_limit" in values:
        values["payload_limit"] = parse_size(values["payload_limit"])
    if "spool_threshold" in values:
        values["spool_threshold"] = parse_size(values["spool_threshold"])
    if "worker_memory" in values:
        values["worker_memory"] = parse_size(values["worker_memory"])
    if "data_dir" in values:
        values["data_dir"] = Path(values["data_dir"]).expanduser()
    if "preload" in values and not (isinstance(values["preload"], list)
                                    and all(isinstance(name, str) for name in values["preload"])):
        raise ValueError('The pool setting preload is a list of module names, like preload = ["numpy", "pandas"].')
    if "policy" in values:
        values["policy"] = replace(config.policy, **values["policy"])
    if "sites" in values:
        values["sites"] = [SiteConfig(**site) for site in values["sites"]]
    return replace(config, **values)
