"""Numeric arrays inside JSON profiles: compact, exact, and not a pickle.

A fitted KS detector keeps the sorted reference values, a million floats for a
million rows; as JSON numbers that is about 20 MB and slow to parse. Instead an
array is stored as::

    {"dtype": "<f8", "shape": [n], "zlib_b64": "<base64 of zlib-compressed little-endian bytes>"}

It round-trips bit for bit (``NaN`` and infinities included). Only plain numeric
dtypes are accepted, so decoding never builds objects.
"""

from __future__ import annotations

import base64
import zlib
from typing import Any

import numpy as np

_ALLOWED = {"<f8", "<f4", "<i8", "<i4", "<u8", "<u4", "|u1", "|i1", "|b1"}


def encode_array(array: np.ndarray) -> dict[str, Any]:
    """A JSON-able dict holding ``array`` exactly (1-D or n-D, numeric dtypes only)."""
    array = np.asarray(array)
    little = array.astype(array.dtype.newbyteorder("<"), copy=False)
    dtype = little.dtype.str
    if dtype not in _ALLOWED:
        raise ValueError(f"cannot encode dtype {array.dtype}; use one of {sorted(_ALLOWED)}")
    # Level 1: sorted floats barely compress at any level; runs of counts do at every level.
    payload = zlib.compress(np.ascontiguousarray(little).tobytes(), level=1)
    return {"dtype": dtype, "shape": list(array.shape), "zlib_b64": base64.b64encode(payload).decode("ascii")}


def decode_array(data: dict[str, Any]) -> np.ndarray:
    """The array :func:`encode_array` stored (a new, writable array).

    :raises ValueError: a malformed dict, unknown dtype, or a size that does not match the shape.
    """
    try:
        dtype = data["dtype"]
        shape = tuple(int(s) for s in data["shape"])
        raw = zlib.decompress(base64.b64decode(data["zlib_b64"], validate=True))
    except (KeyError, TypeError, ValueError, zlib.error) as exc:
        raise ValueError(f"not an encoded array: {exc}") from None
    if dtype not in _ALLOWED:
        raise ValueError(f"encoded array has unsupported dtype {dtype!r}")
    array = np.frombuffer(raw, dtype=np.dtype(dtype))
    if array.size != int(np.prod(shape)):
        raise ValueError(f"encoded array holds {array.size} values but its shape is {list(shape)}")
    return array.reshape(shape).astype(array.dtype.newbyteorder("="), copy=True)
