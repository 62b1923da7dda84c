"""Binary configurations stored one bit per site.

Ising spins (±1) and TASEP occupations (0/1) take two values, but a sampler hands them out as
int8, one byte per site: at the paper's scale (128 × 128 spins, 524 288 configurations per
seed) that is 8.6 GB where 1.1 GB carries the same information. :func:`pack_sites` maps the
two values to bits (``values[0]`` → 0, ``values[1]`` → 1) and packs the flattened sites with
:func:`numpy.packbits` (little bit order, the last byte zero-padded); :func:`unpack_sites`
inverts it exactly. :func:`pack_dataset` and :func:`unpack_dataset` do the same for one
variable of an xarray Dataset, recording in the packed variable's attrs what is needed to
restore the original variable (name, site dims and sizes, the two values, dtype), so a packed
store written with zarr or netCDF reopens to the original Dataset.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from statgeo.checks import binary_pair, check_int

__all__ = ["pack_sites", "unpack_sites", "pack_dataset", "unpack_dataset", "binary_values", "PACKED_SUFFIX"]

#: the packed variable's name is the original name plus this suffix
PACKED_SUFFIX = "_packed"
#: the packed variable's byte dimension
BYTE_DIM = "site_byte"


def binary_values(x: Any) -> tuple[int, int] | None:
    """The two values of a binary configuration array, or None if it is not binary.

    (−1, 1) when every entry is ±1, else (0, 1) when every entry is 0 or 1, else None; only
    integer arrays are configurations here (:func:`statgeo.checks.binary_pair` for any dtype).

    Parameters
    ----------
    x : array_like
        Integer configurations.

    Returns
    -------
    tuple of int or None

    Examples
    --------
    >>> binary_values([[-1, 1], [1, 1]]), binary_values([0, 1, 1]), binary_values([0, 2])
    ((-1, 1), (0, 1), None)
    """
    a = np.asarray(x)
    return binary_pair(a) if a.dtype.kind in "biu" else None


def _check_values(values: Any) -> tuple[int, int]:
    try:
        lo, hi = (int(v) for v in values)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"values must be two distinct integers, got {values!r}") from exc
    if lo == hi or any(float(v) != int(v) for v in values):
        raise ValueError(f"values must be two distinct integers, got {values!r}")
    return lo, hi


def pack_sites(x: Any, n_site_dims: int, values: Sequence[int] = (-1, 1)) -> np.ndarray:
    """Pack binary configurations into bits: (..., *sites) → (..., ⌈n_sites / 8⌉) uint8.

    Parameters
    ----------
    x : array_like
        Integer configurations whose last ``n_site_dims`` axes are the sites; every entry one
        of ``values``.
    n_site_dims : int
        Number of trailing site axes (≥ 1): 2 for an L × L lattice, 1 for a chain.
    values : pair of int, default (−1, 1)
        The value stored as bit 0 and the value stored as bit 1.

    Returns
    -------
    numpy.ndarray
        uint8, shape x.shape[:-n_site_dims] + (⌈n_sites / 8⌉,).

    Raises
    ------
    TypeError
        ``x`` is not an integer array or ``values`` is not a pair of integers.
    ValueError
        ``n_site_dims`` is not in [1, x.ndim], the sites are empty, or an entry is not one of
        ``values``.

    Examples
    --------
    >>> p = pack_sites(np.array([[1, -1, -1, 1, 1, 1, -1, 1, -1]]), 1)
    >>> p.shape, p.dtype.name
    ((1, 2), 'uint8')
    >>> unpack_sites(p, (9,)).tolist()
    [[1, -1, -1, 1, 1, 1, -1, 1, -1]]
    """
    lo, hi = _check_values(values)
    a = np.asarray(x)
    if a.dtype.kind not in "biu":
        raise TypeError(f"x must be an integer array, got dtype {a.dtype}")
    n_site_dims = check_int("n_site_dims", n_site_dims, min=1, max=max(1, a.ndim))
    if a.ndim < n_site_dims:
        raise ValueError(f"n_site_dims must be in [1, x.ndim = {a.ndim}], got {n_site_dims}")
    lead, sites = a.shape[:a.ndim - n_site_dims], a.shape[a.ndim - n_site_dims:]
    n = int(np.prod(sites))
    if n == 0:
        raise ValueError(f"x must have at least one site, got site shape {sites}")
    flat = a.reshape(lead + (n,))
    bits = flat == hi
    if not np.all(bits | (flat == lo)):
        bad = flat[~(bits | (flat == lo))].ravel()[0]
        raise ValueError(f"x must hold only the values {(lo, hi)}, found {bad}")
    return np.packbits(bits, axis=-1, bitorder="little")


def unpack_sites(packed: Any, site_shape: Sequence[int], values: Sequence[int] = (-1, 1),
                 dtype: Any = np.int8) -> np.ndarray:
    """Inverse of :func:`pack_sites`: (..., n_bytes) uint8 → (..., *site_shape) of ``values``.

    Parameters
    ----------
    packed : array_like
        uint8 bytes from :func:`pack_sites`, last axis ⌈n_sites / 8⌉ long.
    site_shape : sequence of int
        The sites' shape (positive sizes).
    values : pair of int, default (−1, 1)
        The values of bit 0 and bit 1.
    dtype : numpy dtype, default int8
        The result's dtype (e.g. float32 for a network's input).

    Returns
    -------
    numpy.ndarray
        Shape packed.shape[:-1] + tuple(site_shape).

    Raises
    ------
    TypeError
        ``packed`` is not uint8, or ``values``/``site_shape`` are not integers.
    ValueError
        The byte axis does not match ``site_shape``.
    """
    lo, hi = _check_values(values)
    p = np.asarray(packed)
    if p.dtype != np.uint8 or p.ndim < 1:
        raise TypeError(f"packed must be a uint8 array with a byte axis, got dtype {p.dtype}, ndim {p.ndim}")
    shape = tuple(check_int(f"site_shape[{i}]", v, min=1) for i, v in enumerate(site_shape))
    n = int(np.prod(shape)) if shape else 0
    if not shape or p.shape[-1] != (n + 7) // 8:
        raise ValueError(f"packed's last axis must hold ceil({n} / 8) = {(n + 7) // 8} bytes for site_shape "
                         f"{shape}, got {p.shape[-1]}")
    bits = np.unpackbits(p, axis=-1, count=n, bitorder="little")
    out = np.where(bits.astype(bool), np.asarray(hi, dtype=dtype), np.asarray(lo, dtype=dtype))
    return out.reshape(p.shape[:-1] + shape)


def pack_dataset(ds: xr.Dataset, name: str, site_dims: Sequence[str], values: Sequence[int]) -> xr.Dataset:
    """``ds`` with variable ``name`` replaced by its bit-packed form ``name + "_packed"``.

    The packed variable keeps the leading dims, replaces ``site_dims`` by one byte dim and
    records the original name, site dims, site sizes, values, dtype and attrs in its attrs
    (``packed_from``, JSON; attrs that are not JSON values are kept as strings);
    :func:`unpack_dataset` restores the variable. Coordinates of the site dims stay in the
    Dataset.

    Parameters
    ----------
    ds : xarray.Dataset
        The Dataset.
    name : str
        The binary variable; its site dims must be its last dims.
    site_dims : sequence of str
        The variable's site dims, in order.
    values : pair of int
        The variable's two values (bit 0, bit 1).

    Returns
    -------
    xarray.Dataset

    Raises
    ------
    TypeError
        ``ds`` is not a Dataset, ``site_dims`` are not names, or ``values`` are not integers.
    ValueError
        ``name`` is not in ``ds``, the site dims are not its last dims, or it is not binary in
        ``values``.
    """
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"ds must be an xarray.Dataset, got {type(ds).__name__}")
    if not isinstance(name, str) or name not in ds.data_vars:
        raise ValueError(f"name must be a variable of ds, got {name!r} (variables: {list(ds.data_vars)})")
    if isinstance(site_dims, str) or not all(isinstance(d, str) for d in site_dims):
        raise TypeError(f"site_dims must be a sequence of dimension names, got {site_dims!r}")
    da = ds[name]
    site_dims = tuple(site_dims)
    if not site_dims or tuple(da.dims[-len(site_dims):]) != site_dims:
        raise ValueError(f"site_dims must be the last dims of {name!r} {da.dims}, got {site_dims}")
    lo, hi = _check_values(values)
    packed = pack_sites(da.values, len(site_dims), (lo, hi))
    meta = {"name": name, "site_dims": list(site_dims), "site_shape": [int(da.sizes[d]) for d in site_dims],
            "values": [lo, hi], "dtype": str(da.dtype), "attrs": dict(da.attrs)}
    out = ds.drop_vars(name)
    out[name + PACKED_SUFFIX] = xr.DataArray(packed, dims=da.dims[:-len(site_dims)] + (BYTE_DIM,),
                                             attrs={"packed_from": json.dumps(meta, default=str)})
    return out


def unpack_dataset(ds: xr.Dataset) -> xr.Dataset:
    """Restore every variable that :func:`pack_dataset` packed; other Datasets pass through.

    Parameters
    ----------
    ds : xarray.Dataset
        A Dataset, possibly with packed variables (attrs ``packed_from``).

    Returns
    -------
    xarray.Dataset

    Raises
    ------
    TypeError
        ``ds`` is not a Dataset.
    ValueError
        A packed variable's record does not match its bytes.
    """
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"ds must be an xarray.Dataset, got {type(ds).__name__}")
    packed = [v for v in ds.data_vars if "packed_from" in ds[v].attrs]
    if not packed:
        return ds
    out = ds
    for v in packed:
        meta = json.loads(ds[v].attrs["packed_from"])
        da = ds[v]
        x = unpack_sites(da.values, meta["site_shape"], meta["values"], dtype=np.dtype(meta["dtype"]))
        dims = da.dims[:-1] + tuple(meta["site_dims"])
        out = out.drop_vars(v)
        out[meta["name"]] = xr.DataArray(x, dims=dims, attrs=meta["attrs"])
    return out
