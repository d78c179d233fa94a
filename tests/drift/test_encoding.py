"""Arrays inside JSON profiles round-trip exactly; anything else is refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from arlequin_core.drift.encoding import decode_array, encode_array


@pytest.mark.parametrize(
    "array",
    [
        np.array([0.1, -0.0, np.nan, np.inf, -np.inf, 5e-324, 1.7976931348623157e308]),
        np.arange(100_000, dtype=np.int64),
        np.array([], dtype=np.float64),
        np.array([[1, 2], [3, 4]], dtype=np.int32),
        np.array([True, False]),
    ],
)
def test_round_trip_is_bit_exact_through_json(array):
    back = decode_array(json.loads(json.dumps(encode_array(array))))
    assert back.dtype == array.dtype and back.shape == array.shape
    assert back.tobytes() == array.tobytes()
    assert back.flags.writeable


def test_big_endian_input_is_stored_little_endian():
    array = np.arange(5, dtype=">f8")
    encoded = encode_array(array)
    assert encoded["dtype"] == "<f8"
    assert decode_array(encoded).tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_object_arrays_and_bad_payloads_are_refused():
    with pytest.raises(ValueError, match="cannot encode dtype object"):
        encode_array(np.array(["a"], dtype=object))
    good = encode_array(np.arange(4.0))
    with pytest.raises(ValueError, match="unsupported dtype"):
        decode_array({**good, "dtype": "|O"})
    with pytest.raises(ValueError, match="shape is \\[5\\]"):
        decode_array({**good, "shape": [5]})
    with pytest.raises(ValueError, match="not an encoded array"):
        decode_array({**good, "zlib_b64": "not base64!"})
