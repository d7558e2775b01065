"""Sites: where jobs run, how much power their hardware draws, and how clean it is now.

Carbon intensity (gCO2e per kWh) comes from a source named by a short spec, so an operator
can start with a constant and move to a time series without changing anything else:
``"250"`` or ``"constant:250"``, or ``"csv:/path/to/intensity.csv"`` with rows
``timestamp,intensity`` (a Unix time or an ISO 8601 time; the latest row at or before
now applies, the first row before the series starts).
"""

from __future__ import annotations

import bisect
import csv
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol


class CarbonSource(Protocol):
    """Gives a site's carbon intensity at a moment."""

    @property
    def spec(self) -> str: ...

    def intensity(self, now: float) -> float: ...


@dataclass(frozen=True)
class ConstantCarbon:
    value: float
    spec: str = ""

    def intensity(self, now: float) -> float:
        return self.value


@dataclass(frozen=True)
class SeriesCarbon:
    times: tuple[float, ...]
    values: tuple[float, ...]
    spec: str = ""

    def intensity(self, now: float) -> float:
        i = bisect.bisect_right(self.times, now) - 1
        return self.values[max(i, 0)]


def parse_carbon(spec: str) -> CarbonSource:
    """Read a carbon spec; a bad one fails here, when the operator configures it."""
    text = str(spec).strip()
    kind, _, rest = text.partition(":")
    if not rest:
        kind, rest = "constant", text
    if kind == "constant":
        try:
            return ConstantCarbon(float(rest), spec=f"constant:{float(rest):g}")
        except ValueError:
            raise ValueError(
                f"Carbon intensity {spec!r} is not a number; give gCO2e/kWh such as 250, or csv:PATH."
            ) from None
    if kind == "csv":
        return _read_series(Path(rest), text)
    raise ValueError(f"Unknown carbon source {spec!r}; use a number such as 250 or csv:PATH.")


def _read_series(path: Path, spec: str) -> SeriesCarbon:
    if not path.is_file():
        raise ValueError(f"Carbon series file {path} does not exist; give an existing CSV of timestamp,intensity rows.")
    rows: list[tuple[float, float]] = []
    with path.open(newline="") as handle:
        for row in csv.reader(handle):
            if len(row) < 2 or not row[0].strip() or row[0].strip().startswith("#"):
                continue
            try:
                rows.append((_timestamp(row[0].strip()), float(row[1])))
            except ValueError:
                if rows:  # only a header line may fail to parse
                    raise ValueError(f"Row {row} of {path} is not timestamp,intensity; fix or remove it.") from None
    if not rows:
        raise ValueError(f"Carbon series file {path} has no timestamp,intensity rows; add at least one.")
    rows.sort()
    return SeriesCarbon(tuple(t for t, _ in rows), tuple(v for _, v in rows), spec=spec)


def _timestamp(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True)
class Site:
    """A member site: its power model (for energy on bills) and its carbon source."""

    name: str
    carbon: CarbonSource
    watts_per_cpu: float = 10.0
    watts_per_gb: float = 0.4
    watts_per_gpu: float = 250.0
    prices: dict[str, Any] = field(default_factory=dict)

    def energy_kwh(self, cpus: float, memory: int, gpus: int, seconds: float) -> float:
        watts = cpus * self.watts_per_cpu + memory / 1e9 * self.watts_per_gb + gpus * self.watts_per_gpu
        return watts * seconds / 3.6e6
