"""Progress bars that honour the caller and the environment.

Every long loop in statgeo shows a tqdm bar through :func:`progress_bar`. Whether it shows:

* ``progress=False`` — never;
* ``TQDM_DISABLE`` set to a true value (``1``, ``true``, ``yes``) in the environment — never,
  whatever ``progress`` says (tqdm itself lets an explicit ``disable=False`` win over the
  environment; here the environment wins, so a batch job or CI can silence every bar);
* ``progress=True`` — shown;
* ``progress=None`` (the default of the public functions) — shown on a terminal only.
"""

from __future__ import annotations

import os
from typing import Any, Iterable

from tqdm.auto import tqdm

__all__ = ["progress_bar", "progress_disabled"]


def progress_disabled(progress: bool | None) -> bool | None:
    """tqdm's ``disable`` argument for a caller's ``progress`` switch (module docstring).

    Parameters
    ----------
    progress : bool or None
        The caller's switch.

    Returns
    -------
    bool or None
        ``True`` (hidden), ``False`` (shown) or ``None`` (shown on a terminal only).

    Raises
    ------
    TypeError
        ``progress`` is not a bool or None.
    """
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(f"progress must be True, False or None, got {progress!r}")
    if os.environ.get("TQDM_DISABLE", "").strip().lower() in ("1", "true", "yes", "on"):
        return True
    if progress is None:
        return None
    return not progress


def progress_bar(iterable: Iterable[Any] | None = None, *, progress: bool | None = None, **kwargs: Any) -> tqdm:
    """A tqdm bar (``leave=False`` unless given) switched by ``progress`` and ``TQDM_DISABLE``.

    Parameters
    ----------
    iterable : iterable, optional
        What to iterate over (as for ``tqdm``).
    progress : bool or None, default None
        See the module docstring.
    **kwargs
        Passed to ``tqdm`` (``desc``, ``total``, ``unit``, ...).

    Returns
    -------
    tqdm.tqdm
    """
    kwargs.setdefault("leave", False)
    return tqdm(iterable, disable=progress_disabled(progress), **kwargs)
