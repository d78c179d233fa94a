"""The profile on disk: format 2 (a JSON line, then the arrays as Arrow IPC) and format 1 (JSON).

Format 2, written to any name but ``*.json`` (by convention ``*.profile``)::

    line 1   the profile as compact JSON (the dict of Profile.to_dict), each large array
             replaced by {"$array": "<name>", "dtype": "<f8", "shape": [n]}, padded with
             spaces so that the rest starts at a multiple of 64 bytes, then "\\n"
    rest     an Arrow IPC file holding one record batch of one row; column <name> is a
             large_list whose single entry is that array's values (C order). Integer
             arrays are stored in the smallest integer type that holds their values
             (the KS counts of a million distinct values: 1 byte each), read back as
             their ``dtype``.

So the metadata stays readable (``head -n 1 ref.profile | python -m json.tool``), the
arrays cost their bytes and nothing to parse: a reader takes zero-copy views of one
buffer, read into memory by default (so a file rewritten in place cannot change a
loaded profile), or memory-mapped with ``mapped=True`` for a short-lived process
(``arlequin detect``: no copy of the arrays at all). Nothing is a pickle: arrays are plain numbers only, checked
against their declared dtype and shape.

Format 1, written to ``*.json`` (and by every version before format 2): the whole
profile as one JSON document, arrays in the JSON form of
:mod:`arlequin_core.drift.encoding` (zlib + base64). Both formats are read.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from arlequin_core.drift.encoding import profile_array, to_json_tree
from arlequin_core.errors import InputError

#: The file's body (the Arrow IPC part) starts at a multiple of this many bytes.
ALIGNMENT = 64
_REF = "$array"
_NUMPY = {
    pa.from_numpy_dtype(np.dtype(t)): np.dtype(t).newbyteorder("<")
    for t in ("i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f4", "f8")
}


def write_profile(tree: dict[str, Any], path: str | os.PathLike[str], format_version: int) -> None:
    """Write a profile ``tree`` (JSON values and numpy arrays) to ``path`` atomically (temporary file, then rename).

    :param format_version: 2 (JSON line + Arrow arrays) or 1 (one JSON document).
    """
    tree = {**tree, "format_version": format_version}
    if format_version == 1:
        parts = [json.dumps(to_json_tree(tree), separators=(",", ":"), allow_nan=False).encode("utf-8")]
    elif format_version == 2:
        arrays: dict[str, np.ndarray] = {}
        header = json.dumps(_pack(tree, "", arrays), separators=(",", ":"), allow_nan=False).encode("utf-8")
        pad = -(len(header) + 1) % ALIGNMENT
        parts = [header, b" " * pad, b"\n", _ipc(arrays)]
    else:
        raise ValueError(f"profile format_version must be 1 or 2, got {format_version!r}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # A hidden temporary name (ignored by watchers), created with the umask's permissions.
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "xb") as f:
            for part in parts:
                f.write(part)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_profile(path: str | os.PathLike[str], mapped: bool = False) -> dict[str, Any]:
    """The profile tree stored in ``path`` (format 1 or 2; arrays of format 2 as read-only numpy views).

    :param mapped: format 2's arrays are views of a memory map of the file instead of a copy
        read into memory: nothing is read until used (~0.02-0.15 s less for the 54 MB profile
        of a 1M-row reference, measured cold). For short-lived processes only: a profile
        rewritten in place (truncated) under a live map makes the process fail with SIGBUS;
        one replaced by rename, as :func:`write_profile` does, is safe.

    Whether the tree is a profile, and of a version this arlequin reads, is for the caller to check.

    :raises InputError: missing or unreadable file, not JSON, arrays that do not match their header.
    """
    where = os.fspath(path)
    try:
        with open(path, "rb") as f:
            line = f.readline()  # format 1 is one line: the whole file
    except FileNotFoundError:
        raise InputError(where, "no such file") from None
    except OSError as exc:
        raise InputError(where, f"cannot read the profile: {exc}") from None
    try:
        tree = json.loads(line)
    except UnicodeDecodeError as exc:
        raise InputError(where, f"cannot read the profile: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(where, f"not valid JSON: {exc}") from None
    if not isinstance(tree, dict) or tree.get("format_version") != 2:
        return tree
    try:
        if mapped:  # the buffer keeps the map alive; closing it would unmap the arrays
            source = pa.memory_map(where)
            source.seek(len(line))
            body = source.read_buffer()
        else:
            with pa.OSFile(where) as f:
                f.seek(len(line))
                body = f.read_buffer()
        batch = pa.ipc.open_file(body).get_batch(0)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(where, f"cannot read the profile's arrays (Arrow IPC after line 1): {exc}") from None
    return _unpack(tree, batch, where)


def _pack(value: Any, path: str, arrays: dict[str, np.ndarray]) -> Any:
    """``value`` with each numpy array moved to ``arrays`` (under its path) and replaced by a reference."""
    if isinstance(value, np.ndarray):
        array = profile_array(value)
        arrays[path] = array
        return {_REF: path, "dtype": array.dtype.newbyteorder("<").str, "shape": list(array.shape)}
    if isinstance(value, dict):
        return {k: _pack(v, f"{path}/{k}" if path else str(k), arrays) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_pack(v, f"{path}/{i}", arrays) for i, v in enumerate(value)]
    return value


def _ipc(arrays: dict[str, np.ndarray]) -> bytes | pa.Buffer:
    columns = [_as_list(a) for a in arrays.values()]
    batch = pa.RecordBatch.from_arrays(columns, names=list(arrays)) if columns else pa.RecordBatch.from_pylist([{}])
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return sink.getvalue()


def _as_list(array: np.ndarray) -> pa.Array:
    flat = array.reshape(-1)
    if flat.dtype == np.bool_:
        flat = flat.view(np.uint8)
    elif flat.dtype.kind in "iu" and flat.size:
        flat = flat.astype(_smallest_int(int(flat.min()), int(flat.max())), copy=False)
    values = pa.array(flat)
    return pa.LargeListArray.from_arrays(pa.array([0, flat.size], type=pa.int64()), values)


def _smallest_int(lo: int, hi: int) -> np.dtype:
    for dtype in (np.uint8, np.uint16, np.uint32, np.uint64) if lo >= 0 else (np.int8, np.int16, np.int32, np.int64):
        info = np.iinfo(dtype)
        if info.min <= lo and hi <= info.max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


def _unpack(value: Any, batch: pa.RecordBatch, where: str) -> Any:
    if isinstance(value, dict):
        if _REF in value:
            return _array(value, batch, where)
        return {k: _unpack(v, batch, where) for k, v in value.items()}
    if isinstance(value, list):
        return [_unpack(v, batch, where) for v in value]
    return value


def _array(ref: dict[str, Any], batch: pa.RecordBatch, where: str) -> np.ndarray:
    name = ref.get(_REF)
    try:
        dtype = np.dtype(str(ref["dtype"]))
        shape = tuple(int(s) for s in ref["shape"])
        column = batch.column(name)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(where, f"array {name!r}: malformed reference or no such array: {exc}") from None
    if not pa.types.is_large_list(column.type) or len(column) != 1:
        raise InputError(where, f"array {name!r}: expected a large_list of one entry, got {column.type}")
    # The entry's values, sliced by hand: ListArray.flatten imports pyarrow.compute (its module
    # import alone is ~0.05-0.1 s of a one-off detect from a profile, issue 18).
    start, end = (0, 0) if column.null_count else (column.offsets[0].as_py(), column.offsets[1].as_py())
    stored = column.values.slice(start, end - start)
    if not (pa.types.is_integer(stored.type) or pa.types.is_floating(stored.type)) or stored.null_count:
        raise InputError(where, f"array {name!r}: stored as {stored.type}, not plain numbers")
    if (dtype.kind == "f") != pa.types.is_floating(stored.type):
        raise InputError(where, f"array {name!r}: stored as {stored.type}, cannot be read as {dtype}")
    # A view of the buffer (Array.to_numpy would import pandas, ~0.4 s of a one-off detect).
    kind = _NUMPY.get(stored.type)
    if kind is None:
        raise InputError(where, f"array {name!r}: stored as {stored.type}, not plain numbers")
    values = np.frombuffer(stored.buffers()[1], dtype=kind, count=len(stored), offset=stored.offset * kind.itemsize)
    if values.size != int(np.prod(shape)):
        raise InputError(where, f"array {name!r} holds {values.size} values but its shape is {list(shape)}")
    try:
        array = values.view(np.bool_) if dtype == np.bool_ else values.astype(dtype.newbyteorder("="), copy=False)
        profile_array(array)
    except ValueError as exc:
        raise InputError(where, f"array {name!r}: {exc}") from None
    return array.reshape(shape)
