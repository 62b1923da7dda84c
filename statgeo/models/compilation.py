"""Say so when a Numba kernel is actually being compiled (not loaded from the on-disk cache).

Every kernel of :mod:`statgeo.models.kernels` is ``@njit(cache=True)``: the first call in a
fresh environment compiles it (from a few seconds to about a minute for the Ising samplers)
and writes the machine code next to the source (``__pycache__/*.nbi``, ``*.nbc``); later
processes load it in well under a second. A compile is told apart from a cache hit with
Numba's event API: the dispatcher fires a ``"numba:compile"`` event only after its cache
lookup failed, just before it compiles (``Dispatcher.compile``: in-memory overload → on-disk
cache → compile), so a listener on that event sees exactly the real compilations — none when
the cache is warm. (``Dispatcher.stats.cache_hits/cache_misses`` tell the same, but only
afterwards.) The listener shows a progress bar "compiling Numba kernels (first use; cached on
disk afterwards)" (honouring ``progress`` and ``TQDM_DISABLE``) and logs at INFO
(docs/ising_sampling.md, "First call: Numba compilation").
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import time
from typing import Any, Iterator

from statgeo.progress import progress_bar

__all__ = ["compile_notice", "COMPILE_DESC"]

logger = logging.getLogger(__name__)

COMPILE_DESC = "compiling Numba kernels (first use; cached on disk afterwards)"

#: set while a :func:`compile_notice` is active, so that nested ones stay silent
_ACTIVE: contextvars.ContextVar[bool] = contextvars.ContextVar("statgeo_numba_compile_notice", default=False)


def _kernel_name(event: Any) -> str:
    disp = (event.data or {}).get("dispatcher") if isinstance(event.data, dict) else None
    fn = getattr(disp, "py_func", None)
    return f"{fn.__module__}.{fn.__qualname__}" if fn is not None else "a Numba kernel"


try:  # Numba's event API (documented since 0.53); without it, no notice
    from numba.core import event as _ev

    class _Listener(_ev.Listener):
        """Shows one bar for the outermost compilation; nested ones (callees) are counted."""

        def __init__(self, progress: bool | None, what: str) -> None:
            self.progress = progress
            self.what = what
            self.depth = 0
            self.bar = None
            self.t0 = 0.0
            self.names: list[str] = []

        def on_start(self, event: Any) -> None:
            self.depth += 1
            name = _kernel_name(event)
            if name.startswith("statgeo."):  # not Numba's own overloads compiled along
                self.names.append(name)
            if self.depth == 1:
                self.t0 = time.perf_counter()
                logger.info("compiling Numba kernel %s%s (first use in this environment; cached on disk "
                            "afterwards, later runs load it in well under a second)", name,
                            f" for {self.what}" if self.what else "")
                self.bar = progress_bar(total=1, desc=COMPILE_DESC, progress=self.progress,
                                        bar_format="{desc}{postfix} [{elapsed}]", postfix=name.rsplit(".", 1)[-1])
                self.bar.refresh()

        def on_end(self, event: Any) -> None:
            self.depth -= 1
            if self.depth == 0 and self.bar is not None:
                self.bar.update(1)
                self.bar.close()
                self.bar = None
                logger.info("compiled %s in %.1f s", ", ".join(dict.fromkeys(self.names)),
                            time.perf_counter() - self.t0)
                self.names = []

    _HAVE_EVENTS = True
except Exception:  # pragma: no cover - very old or stripped-down Numba
    _HAVE_EVENTS = False


@contextlib.contextmanager
def compile_notice(progress: bool | None = None, what: str = "") -> Iterator[None]:
    """Within the block, show a bar and log at INFO whenever a Numba kernel gets compiled.

    Nothing is shown when every kernel the block calls is already in memory or in the on-disk
    cache. Nested blocks defer to the outermost one (its ``progress`` switch wins).

    Parameters
    ----------
    progress : bool or None, default None
        The caller's progress switch (:func:`statgeo.progress.progress_bar`).
    what : str, default ""
        What the kernels are compiled for, for the log message.

    Yields
    ------
    None
    """
    if not _HAVE_EVENTS or _ACTIVE.get():
        yield
        return
    token = _ACTIVE.set(True)
    listener = _Listener(progress, what)
    try:
        with _ev.install_listener("numba:compile", listener):
            yield
    finally:
        if listener.bar is not None:  # a compile raised: close the bar
            listener.bar.close()
        _ACTIVE.reset(token)
