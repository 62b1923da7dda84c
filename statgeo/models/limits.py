"""Hard limits of the physics models: caps on run lengths and on the total work of one call.

A count that sets how long a run takes is capped, so that a slip such as ``burn_in=10**12``
is refused at once with a message naming the argument instead of running for days
(docs/conventions.md, "Errors and bad input"; the caps are listed in docs/ising_sampling.md
and docs/tasep.md):

* :data:`MAX_SWEEPS` = 10⁸ sweeps for ``burn_in``, ``thin`` and ``pilot_sweeps`` of the Ising
  samplers and ``burn_in``, ``spacing`` of the TASEP Monte Carlo. The longest legitimate runs
  use ~10⁵–10⁶ sweeps (20 τ_int at the Ising critical point on a 128² torus with Metropolis;
  4 N² on the TASEP first-order line at N = 500).
* :data:`MAX_WORK` = 10¹⁵ elementary updates per call: spin updates of the Ising samplers
  (L² per sweep and replica), hop attempts of the TASEP Monte Carlo (N + 1 per sweep and
  replica), inner-loop steps of the O(N²) exact TASEP routines. That is about three hours on a
  GPU doing 10¹¹ updates per second and twelve days on a CPU doing 10⁹: a call asking for more
  cannot finish, and is refused before any work (the largest run of the paper's Table 1 needs
  ~10¹³).

Memory is checked separately, on the actual output shapes, by
:func:`statgeo.checks.check_allocation`.
"""

from __future__ import annotations

from typing import Any

from statgeo.checks import check_int

__all__ = ["MAX_SWEEPS", "MAX_WORK", "check_sweeps", "check_work", "check_size"]

#: largest burn-in / thinning / pilot / spacing accepted, in sweeps
MAX_SWEEPS: int = 10**8
#: largest number of elementary updates one call may ask for
MAX_WORK: int = 10**15


def check_sweeps(name: str, value: Any, *, min: int = 0) -> int:
    """``value`` as an int in ``[min, MAX_SWEEPS]``, or a TypeError/ValueError naming ``name``.

    Parameters
    ----------
    name : str
        The argument's name.
    value : object
        The number of sweeps.
    min : int, default 0
        Smallest value accepted.

    Returns
    -------
    int
    """
    v = check_int(name, value)
    if v < min or v > MAX_SWEEPS:
        cap = " (a documented cap, far above any run that can finish)" if v > MAX_SWEEPS else ""
        raise ValueError(f"{name} must be an integer in [{min}, {MAX_SWEEPS}] sweeps{cap}, got {v}")
    return v


def check_work(what: str, n_updates: int, names: str) -> int:
    """Refuse a call whose total work exceeds :data:`MAX_WORK` elementary updates.

    Parameters
    ----------
    what : str
        What the work is, e.g. ``"spin updates"``.
    n_updates : int
        The number of elementary updates the call needs (a Python int: no overflow).
    names : str
        The arguments that set it, for the message.

    Returns
    -------
    int
        ``n_updates``.
    """
    n = int(n_updates)
    if n > MAX_WORK:
        raise ValueError(f"{names} ask for {n:.3g} {what}, more than the cap of {MAX_WORK:.0e} per call (about three "
                         f"hours on a GPU, twelve days on a CPU): such a run cannot finish; reduce {names}")
    return n


def check_size(name: str, value: Any, max_value: int | None = None, why: str = "") -> int:
    """``value`` as an int in ``[1, max_value]``, or a TypeError/ValueError naming ``name``.

    Parameters
    ----------
    name : str
        The argument's name (e.g. ``"N"``).
    value : object
        The size.
    max_value : int, optional
        Largest size the routine can serve.
    why : str, optional
        Why the cap exists, for the message (e.g. the routine's cost).

    Returns
    -------
    int
    """
    v = check_int(name, value, min=1)
    if max_value is not None and v > max_value:
        raise ValueError(f"{name} must be an integer in [1, {max_value}] ({why}), got {v}")
    return v
