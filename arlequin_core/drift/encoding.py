"""Numeric arrays inside profiles: compact, exact, and not a pickle.

A fitted KS detector keeps the sorted reference values, a million floats for a
million rows. A detector's ``to_profile()`` returns such an array as a numpy array,
through :func:`profile_array` (which checks it holds plain numbers); the profile file
(:mod:`arlequin_core.drift.profile_file`) stores it in its binary Arrow part (format 2).

The JSON form (profile format 1, and anywhere a state must be pure JSON, see
:func:`to_json_tree`) is::

    {"dtype": "<f8", "shape": [n], "zlib_b64": "<base64 of zlib-compressed little-endian bytes>"}

Both round-trip bit for bit (``NaN`` and infinities included). Only plain numeric
dtypes are accepted, so decoding never builds objects. :func:`decode_array` takes
either form, so a ``from_profile`` reads profiles of both formats.
"""

from __future__ import annotations

import base64
import zlib
from typing import Any

import numpy as np

_ALLOWED = {"<f8", "<f4", "<i8", "<i4", "<i2", "<u8", "<u4", "<u2", "|u1", "|i1", "|b1"}


def _little(array: np.ndarray) -> np.ndarray:
    little = array.astype(array.dtype.newbyteorder("<"), copy=False)
    if little.dtype.str not in _ALLOWED:
        raise ValueError(f"cannot encode dtype {array.dtype}; use one of {sorted(_ALLOWED)}")
    return little


def profile_array(array: Any) -> np.ndarray:
    """``array`` as a detector's ``to_profile()`` returns it: a C-contiguous numpy array of plain numbers.

    :raises ValueError: not a plain numeric dtype (strings, objects).
    """
    array = np.asarray(array)
    _little(array)
    return np.ascontiguousarray(array)


def encode_array(array: np.ndarray) -> dict[str, Any]:
    """A JSON-able dict holding ``array`` exactly (1-D or n-D, numeric dtypes only)."""
    array = np.asarray(array)
    little = _little(array)
    # Level 1: sorted floats barely compress at any level; runs of counts do at every level.
    payload = zlib.compress(np.ascontiguousarray(little).tobytes(), level=1)
    text = base64.b64encode(payload).decode("ascii")
    return {"dtype": little.dtype.str, "shape": list(array.shape), "zlib_b64": text}


def decode_array(data: dict[str, Any] | np.ndarray) -> np.ndarray:
    """The array :func:`encode_array` stored (a new, writable array), or ``data`` itself when it is an array.

    An array comes from a format-2 profile file (possibly read-only: a view of the file's bytes).

    :raises ValueError: a malformed dict, unknown dtype, or a size that does not match the shape.
    """
    if isinstance(data, np.ndarray):
        _little(data)
        return data
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


def to_json_tree(value: Any) -> Any:
    """``value`` (dicts, lists, JSON scalars, numpy arrays) with every numpy array in its JSON form.

    Containers are copied; nothing else is converted.
    """
    if isinstance(value, np.ndarray):
        return encode_array(value)
    if isinstance(value, dict):
        return {k: to_json_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_tree(v) for v in value]
    return value
