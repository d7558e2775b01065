"""The IPython shell a job process runs cells in, made once when this module is imported.

A cell on the pool must behave as it does in the kernel: line magics (``%timeit``,
``%matplotlib inline``), ``;`` hiding the value, tracebacks naming ``Cell In[n], line k``.
The surest way is IPython's own machinery, so cells run in a plain ``InteractiveShell``.
Building one costs tens of milliseconds of traitlets work; the zygote imports this module
(through ``child`` and ``tasks``) and every job process inherits the shell ready-made.

The shell prints nothing itself: its display hook only records the cell's value (the kernel
shows it, so ``_`` and ``Out[n]`` are set there), its display publisher collects bundles,
and tracebacks are recorded as text, not printed. History is kept in memory only, with no
saving thread: the zygote must stay single-threaded to fork safely.
"""

from __future__ import annotations

import importlib.util
import os
from types import TracebackType
from typing import Any

from IPython.core.displayhook import DisplayHook
from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell
from traitlets import Type
from traitlets.config import Config

from .display import jsonable, png_of_figure

__all__ = ["JobShell", "SHELL", "no_keyboard"]

NO_KEYBOARD = "pool cells have no keyboard; pass the value in a variable"


def no_keyboard(prompt: object = "") -> str:
    """Stands in for ``input`` in a pool cell, which has no one typing at it."""
    raise EOFError(NO_KEYBOARD)


class _ValueHook(DisplayHook):
    """Records the cell's value where IPython would show it; the kernel does the showing."""

    def write_output_prompt(self) -> None:
        return None

    def compute_format_data(self, result: Any) -> tuple[dict, dict]:
        return {}, {}

    def update_user_ns(self, result: Any) -> None:
        # ``_`` and ``Out`` belong to the kernel; keeping values here would hold them alive
        # in a kept process.
        return None

    def fill_exec_result(self, result: Any) -> None:
        super().fill_exec_result(result)
        shell = self.shell
        if isinstance(shell, JobShell):
            shell.value_at = len(shell.publisher.bundles)


class _Publisher(DisplayPublisher):
    """Collects display bundles in the JSON form Jupyter's messages use."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bundles: list[dict[str, Any]] = []

    def publish(self, data: dict, metadata: dict | None = None, source: Any = None, *,
                transient: dict | None = None, update: bool = False, **kwargs: Any) -> None:
        self.bundles.append({"data": jsonable(data), "metadata": metadata or {}})

    def clear_output(self, wait: bool = False) -> None:
        self.bundles.clear()


class JobShell(InteractiveShell):
    """An ``InteractiveShell`` that records what it would print, for one cell at a time."""

    displayhook_class = Type(_ValueHook)
    display_pub_class = Type(_Publisher)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        assert isinstance(self.display_pub, _Publisher)
        self.publisher: _Publisher = self.display_pub
        self.builtin_trap.auto_builtins["input"] = no_keyboard
        self.error_text: list[str] = []
        self.value_at: int | None = None
        self._fresh_ns = dict(self.user_ns)

    def enable_gui(self, gui: str | None = None) -> None:
        """No event loop to hook: figures are shown inline, at the end of the cell."""
        return None

    def _showtraceback(self, etype: Any, evalue: Any, stb: list[str]) -> None:
        if isinstance(evalue, BaseException) and _cut_own_tail(evalue.__traceback__):
            # The traceback ends at the user's line, as a local error's would.
            stb = self.InteractiveTB.structured_traceback(etype, evalue, evalue.__traceback__, tb_offset=1)
        self.error_text = list(stb)

    def fresh(self, execution_count: int, colors: str) -> None:
        """Start a cell as a fresh process would: an empty namespace, no displays yet."""
        namespace = self.user_ns
        for name in [n for n in namespace if n not in self._fresh_ns]:
            del namespace[name]
        namespace.update(self._fresh_ns)
        history = self.history_manager
        if history is not None:
            del history.input_hist_parsed[1:]
            del history.input_hist_raw[1:]
            history.output_hist.clear()
        self.publisher.bundles = []
        self.error_text = []
        self.value_at = None
        self.execution_count = max(1, execution_count)
        if self.colors != colors:
            self.colors = colors


def _cut_own_tail(tb: TracebackType | None) -> bool:
    """Drop the frames of this module at the end of ``tb`` (``input``); whether there were any."""
    last_user = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename != __file__:
            last_user = tb
        elif last_user is not None and _only_own(tb):
            last_user.tb_next = None
            return True
        tb = tb.tb_next
    return False


def _only_own(tb: TracebackType | None) -> bool:
    while tb is not None:
        if tb.tb_frame.f_code.co_filename != __file__:
            return False
        tb = tb.tb_next
    return True


def _config() -> Config:
    config = Config()
    config.HistoryManager.enabled = False  # no sqlite file, no saving thread
    config.HistoryManager.hist_file = ":memory:"
    config.InteractiveShell.cache_size = 0
    config.InteractiveShell.autocall = 0
    return config


# A notebook kernel draws with the inline backend (ipykernel sets it the same way); so does a
# pool cell, so that ``plt.show()``, ``matplotlib.get_backend()`` and the figures shown at the
# end of a cell are a notebook's. It must be set before matplotlib is first imported.
if importlib.util.find_spec("matplotlib_inline") is not None:
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")

SHELL = JobShell(config=_config())
# Without an inline backend IPython has no PNG formatter for figures; give it one so that
# ``display(fig)`` shows the picture, as in a notebook, not only the figure's repr.
SHELL.display_formatter.formatters["image/png"].for_type_by_name("matplotlib.figure", "Figure", png_of_figure)
