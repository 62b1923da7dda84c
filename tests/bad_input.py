"""Property-based checks that public entry points refuse bad input early and clearly.

Every public entry point of :mod:`statgeo.grid`, :mod:`statgeo.models`, :mod:`statgeo.geometry`
and :mod:`statgeo.diffusion` is described once by an :class:`EntryPoint`: a callable, a set of
valid arguments, and per argument a hypothesis strategy of *bad* values (wrong type, NaN/inf,
out of range, non-integral counts, sizes the machine cannot serve, degenerate shapes). The
property, checked by :func:`assert_refuses`: substituting any one bad value into the valid
arguments raises ``TypeError`` or ``ValueError`` whose message names the argument, before any
expensive work or allocation. "Before allocation" is measured, not timed: the peak of the
memory the call allocates (``tracemalloc``, which sees Python objects and NumPy buffers) must
stay below :data:`MAX_REFUSAL_BYTES`; a call that loops instead of refusing is stopped by the
registry tests' hang guard (``pytest.mark.timeout``), which is a guard, not a speed claim.

The per-package registries live in ``tests/<package>/test_bad_input.py`` as ``ENTRY_POINTS``
(a list of :class:`EntryPoint`) and ``NOT_ENTRY_POINTS`` (public names that take no user
input, e.g. result records and constants, with the reason); ``tests/test_bad_input_coverage.py``
checks that together they cover every name in the packages' ``__all__``.
"""

from __future__ import annotations

import math
import tracemalloc
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pytest
from hypothesis import strategies as st

__all__ = [
    "EntryPoint",
    "registry_tests",
    "assert_refuses",
    "run_entry_point",
    "not_an_int",
    "bad_int",
    "bad_real",
    "bad_probability",
    "non_finite",
    "wrong_type",
    "bad_choice",
    "huge_int",
    "bad_array",
    "MAX_REFUSAL_BYTES",
    "refused",
]

#: a refusal may allocate at most this much (the checks come before any real allocation)
MAX_REFUSAL_BYTES = 32 * 2**20
#: hang guard of the registry tests, per test (a refusal that loops is stopped, not timed)
HANG_GUARD_SECONDS = 300


@dataclass
class EntryPoint:
    """A public entry point and how to call it badly.

    Attributes
    ----------
    name : str
        Qualified public name, e.g. ``"statgeo.models.IsingModel.sample"`` (the coverage test
        matches it against the packages' ``__all__``).
    call : callable
        Called as ``call(**arguments)``; a lambda may build the object whose method is tested.
    valid : dict
        A set of valid arguments (the bad value replaces one of them).
    bad : dict
        Argument name → hypothesis strategy of bad values for it.
    message : dict, optional
        Argument name → substrings of which at least one must appear in the message
        (default: the argument name itself).
    """

    name: str
    call: Callable[..., Any]
    valid: dict[str, Any]
    bad: dict[str, st.SearchStrategy]
    message: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def __repr__(self) -> str:  # short ids in pytest output
        return self.name


def refused(call: Callable[[], Any], exc: type | tuple[type, ...] = (TypeError, ValueError), *,
            what: str = "") -> BaseException:
    """Call ``call()``, expect ``exc``, and check that the refusal allocated (almost) nothing.

    The peak memory allocated during the call (``tracemalloc``) must stay below
    :data:`MAX_REFUSAL_BYTES`. A first call may import modules (allocating for them), so a
    peak above the bound is measured once more, after the imports are done.

    Returns
    -------
    BaseException
        The exception raised, for checks on its message.
    """
    def attempt() -> tuple[BaseException, int]:
        tracemalloc.start()
        try:
            with pytest.raises(exc) as info:
                call()
            return info.value, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    error, peak = attempt()
    if peak >= MAX_REFUSAL_BYTES:
        error, peak = attempt()
    assert peak < MAX_REFUSAL_BYTES, (f"{what}: allocated {peak / 2**20:.1f} MiB before refusing "
                                      "(the checks must come before the work)")
    return error


def assert_refuses(call: Callable[..., Any], arguments: dict[str, Any], names: Sequence[str],
                   *, what: str = "") -> None:
    """``call(**arguments)`` raises TypeError/ValueError naming one of ``names``, allocating nothing."""
    msg = str(refused(lambda: call(**arguments), what=what))
    assert any(n in msg for n in names), f"{what}: message {msg!r} does not name any of {list(names)}"


def run_entry_point(ep: EntryPoint, data: st.DataObject) -> None:
    """One hypothesis example: draw an argument and a bad value for it, check the refusal."""
    arg = data.draw(st.sampled_from(sorted(ep.bad)), label="argument")
    value = data.draw(ep.bad[arg], label=f"bad {arg}")
    arguments = dict(ep.valid)
    arguments[arg] = value
    assert_refuses(ep.call, arguments, ep.message.get(arg, (arg,)), what=f"{ep.name}({arg}={value!r:.60})")


def registry_tests(entry_points: Sequence[EntryPoint], *, max_examples: int = 25) -> tuple[Callable, Callable]:
    """The two tests every registry runs, bound to its entry points.

    Use at module level of a registry::

        test_bad_input_is_refused_clearly_and_early, test_valid_calls_of_the_registry_succeed = \
            registry_tests(ENTRY_POINTS)

    Returns
    -------
    tuple of callable
        The hypothesis property over (entry point, argument, bad value), and the check that
        the registry's valid arguments are valid (the property is about the bad value alone).
    """
    from hypothesis import HealthCheck, given, settings

    @pytest.mark.timeout(HANG_GUARD_SECONDS)
    @pytest.mark.parametrize("ep", list(entry_points), ids=repr)
    @settings(max_examples=max_examples, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data())
    def test_bad_input_is_refused_clearly_and_early(ep: EntryPoint, data: st.DataObject) -> None:
        run_entry_point(ep, data)

    def test_valid_calls_of_the_registry_succeed() -> None:
        for ep in entry_points:
            ep.call(**ep.valid)

    return test_bad_input_is_refused_clearly_and_early, test_valid_calls_of_the_registry_succeed


# ----------------------------------------------------------------------------- strategies
def wrong_type(*, none: bool = True) -> st.SearchStrategy:
    """Values of the wrong kind for a number or an array: strings, dicts, objects (and None,
    unless ``none=False`` because None is a valid value of the argument)."""
    values = ["8", "abc", {"a": 1}, object(), b"x", [["a", "b"]]] + ([None] if none else [])
    return st.sampled_from(values)


def not_an_int() -> st.SearchStrategy:
    """Non-integral counts: floats (also integral ones like 12.0), booleans, strings, None."""
    return st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([12.0, 2.5, True, "3", None]))


def bad_int(*, min: int | None = None, max: int | None = None) -> st.SearchStrategy:
    """Integers outside [min, max], plus :func:`not_an_int`."""
    parts = [not_an_int()]
    if min is not None:
        parts.append(st.integers(max_value=min - 1).filter(lambda v: v > -10**18))
    if max is not None:
        parts.append(st.integers(min_value=max + 1, max_value=max + 10**18))
    return st.one_of(parts)


def huge_int(*, at_least: int = 10**7) -> st.SearchStrategy:
    """Integers large enough that honouring them would need gigabytes or hours."""
    return st.integers(min_value=at_least, max_value=10**15)


def non_finite() -> st.SearchStrategy:
    """NaN and ±inf."""
    return st.sampled_from([math.nan, math.inf, -math.inf, np.nan, np.float64("inf")])


def bad_real(*, low: float | None = None, high: float | None = None, low_inclusive: bool = True,
             high_inclusive: bool = True) -> st.SearchStrategy:
    """Reals outside the interval, NaN/inf and wrong types."""
    parts = [non_finite(), st.sampled_from(["0.5", None, 1j])]
    if low is not None:
        parts.append(st.floats(max_value=low, exclude_max=low_inclusive, allow_nan=False, allow_infinity=False,
                               min_value=low - 1e6))
    if high is not None:
        parts.append(st.floats(min_value=high, exclude_min=high_inclusive, allow_nan=False, allow_infinity=False,
                               max_value=high + 1e6))
    return st.one_of(parts)


def bad_probability() -> st.SearchStrategy:
    """Values that are not a rate in (0, 1]."""
    return bad_real(low=0.0, high=1.0, low_inclusive=False)


def bad_choice(valid: Sequence[str]) -> st.SearchStrategy:
    """Strings (and non-strings) that are not among ``valid``."""
    return st.one_of(st.text(min_size=0, max_size=8).filter(lambda s: s not in valid),
                     st.sampled_from([None, 3, ["x"]]))


def bad_array(shape: tuple[int, ...], *, allow_wrong_shape: bool = True) -> st.SearchStrategy:
    """Arrays with NaN or inf in them, of the wrong shape, empty, or of a non-numeric dtype."""
    n = int(np.prod(shape)) if shape else 1

    def with_nan(k: int) -> np.ndarray:
        a = np.ones(shape, dtype=np.float64)
        a.flat[k % n] = np.nan
        return a

    parts = [st.integers(0, max(n - 1, 0)).map(with_nan),
             st.just(np.full(shape, np.inf)),
             st.just(np.array(["a"] * n, dtype=object).reshape(shape) if shape else np.array("a"))]
    if allow_wrong_shape:
        parts += [st.just(np.ones(shape + (3,))), st.just(np.ones((0,) + shape[1:]))]
    return st.one_of(parts)
