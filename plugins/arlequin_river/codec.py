"""The JSON form of a river drift detector's internal state.

River detectors keep their state in ordinary attributes (running means, a deque, a
``random.Random``), except ADWIN, whose window lives in a Rust object
(``river._river_rust.drift.AdaptiveWindowing``) that river pickles as opaque
``bincode`` bytes. Pickles are refused here on principle (a profile is loaded from
disk and from MLflow; unpickling runs code), so every piece of state is written as
plain JSON:

* ``None``, ``bool``, ``int``, ``str`` and finite ``float`` as themselves;
  a non-finite float as ``{"float": "inf" | "-inf" | "nan"}`` (strict JSON has none);
* ``collections.deque`` as ``{"deque": [...], "maxlen": n}``;
* ``random.Random`` as ``{"random": [version, [625 ints], gauss_next]}``;
* ``river.stats.Mean`` / ``Var`` as ``{"object": "Mean", "attrs": {...}}``;
* HDDM_W's ``SampleInfo`` as ``{"sample_info": {"fading_factor", "ewma", "is_init", ...}}``
  (its exponentially weighted mean is restored exactly through river's public
  ``update``: the first update of a fresh ``EWMean`` sets its mean to the value);
* ADWIN's Rust window as ``{"adwin": {...}}``: the fields of river's
  ``AdaptiveWindowing`` struct decoded from its bincode layout (little-endian,
  fixed-width integers, ``u64`` length prefixes). Encoding checks that re-encoding
  the decoded fields gives back river's bytes exactly, so a river release that
  changes the layout fails loudly at save time instead of corrupting a state.

Only the types above are accepted, from an allow-list: decoding never imports a
class named in the data.
"""

from __future__ import annotations

import collections
import math
import random
import struct
from typing import Any

from river import stats as river_stats
from river.drift.binary.hddm_w import SampleInfo

from arlequin_core.drift.online_state import StateError

__all__ = ["StateError", "decode_state", "encode_state"]

try:  # river >= 0.23 keeps ADWIN's window in Rust
    from river._river_rust.drift import AdaptiveWindowing
except ImportError:  # pragma: no cover - older river: ADWIN state cannot be saved
    AdaptiveWindowing = None


#: river statistics whose state is their plain attributes.
_PLAIN: dict[str, type] = {"Mean": river_stats.Mean, "Var": river_stats.Var}

# The AdaptiveWindowing struct, in declaration order (river's rust_src/adwin.rs).
_ADWIN_HEAD = (
    ("delta", "d"),
    ("clock", "i"),
    ("max_buckets", "Q"),
    ("min_window_length", "d"),
    ("grace_period", "d"),
    ("total", "d"),
    ("variance", "d"),
    ("width", "d"),
    ("total_width", "d"),
    ("n_buckets", "i"),
    ("max_n_buckets", "i"),
    ("tick", "i"),
    ("n_detections", "i"),
)
# The Python-facing wrapper repeats the constructor arguments after the struct.
_ADWIN_TAIL = (("delta", "d"), ("clock", "i"), ("max_buckets", "Q"), ("min_window_length", "i"), ("grace_period", "i"))


def _float(value: float) -> Any:
    return value if math.isfinite(value) else {"float": repr(float(value))}


def encode_state(obj: Any, where: str = "state") -> Any:
    """The JSON-able form of ``obj`` (a detector attribute, recursively).

    :param obj: a value found in a river detector's ``vars()``.
    :param where: the attribute path, for error messages.
    :raises StateError: the type is not one this module knows how to write.
    """
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return _float(obj)
    if isinstance(obj, collections.deque):
        return {"deque": [encode_state(v, f"{where}[]") for v in obj], "maxlen": obj.maxlen}
    if isinstance(obj, random.Random):
        version, internal, gauss_next = obj.getstate()
        return {"random": [version, list(internal), gauss_next]}
    if isinstance(obj, SampleInfo):
        return {
            "sample_info": {
                "fading_factor": obj._ewma.fading_factor,
                "ewma": _float(obj._ewma.get()),
                "is_init": obj._is_init,
                "ibc": _float(obj._ibc),
                "lambd_sq": obj._lambd_sq,
                "c_lambd_sq": obj._c_lambd_sq,
            }
        }
    if AdaptiveWindowing is not None and isinstance(obj, AdaptiveWindowing):
        return {"adwin": _adwin_to_json(obj)}
    for name, cls in _PLAIN.items():
        if type(obj) is cls:
            return {"object": name, "attrs": {k: encode_state(v, f"{where}.{k}") for k, v in vars(obj).items()}}
    raise StateError(f"{where}: cannot write a {type(obj).__qualname__} as JSON (river changed its internals?)")


def decode_state(data: Any, where: str = "state") -> Any:
    """Rebuild a value written by :func:`encode_state`.

    :raises StateError: the data is not in the documented form.
    """
    if data is None or isinstance(data, (bool, int, str, float)):
        return data
    if isinstance(data, list):
        raise StateError(f"{where}: unexpected list")
    if not isinstance(data, dict) or len(data) == 0:
        raise StateError(f"{where}: unexpected {type(data).__name__}")
    try:
        if "float" in data:
            return float(data["float"])
        if "deque" in data:
            return collections.deque((decode_state(v, f"{where}[]") for v in data["deque"]), maxlen=data["maxlen"])
        if "random" in data:
            version, internal, gauss_next = data["random"]
            rng = random.Random()
            rng.setstate((version, tuple(internal), gauss_next))
            return rng
        if "sample_info" in data:
            return _sample_info_from_json(data["sample_info"])
        if "adwin" in data:
            return _adwin_from_json(data["adwin"])
        if "object" in data:
            cls = _PLAIN[data["object"]]
            obj = cls.__new__(cls)
            for key, value in data["attrs"].items():
                setattr(obj, key, decode_state(value, f"{where}.{key}"))
            return obj
    except StateError:
        raise
    except (KeyError, TypeError, ValueError, struct.error) as exc:
        raise StateError(f"{where}: malformed state: {type(exc).__name__}: {exc}") from None
    raise StateError(f"{where}: unknown state entry with keys {sorted(data)}")


def _sample_info_from_json(data: dict[str, Any]) -> SampleInfo:
    info = SampleInfo(data["fading_factor"])
    if data["is_init"]:
        info._ewma.update(decode_state(data["ewma"]))
    info._is_init = bool(data["is_init"])
    info._ibc = decode_state(data["ibc"])
    info._lambd_sq = data["lambd_sq"]
    info._c_lambd_sq = data["c_lambd_sq"]
    return info


# --------------------------------------------------------------------------- #
# ADWIN's Rust window <-> JSON
# --------------------------------------------------------------------------- #


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def read(self, fmt: str) -> Any:
        (value,) = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return value

    def floats(self) -> list[float]:
        n = self.read("Q")
        values = list(struct.unpack_from(f"<{n}d", self.data, self.pos))
        self.pos += 8 * n
        return values


def _adwin_to_json(helper: Any) -> dict[str, Any]:
    reduced = helper.__reduce_ex__(4)
    raw = reduced[2]
    if not isinstance(raw, bytes):
        raise StateError("adwin: river's AdaptiveWindowing no longer pickles to bytes; cannot write its state")
    reader = _Reader(raw)
    try:
        head = {name: reader.read(fmt) for name, fmt in _ADWIN_HEAD}
        buckets = []
        for _ in range(reader.read("Q")):
            bucket = {"max_size": reader.read("Q"), "current_idx": reader.read("Q")}
            bucket["totals"] = reader.floats()
            bucket["variances"] = reader.floats()
            buckets.append(bucket)
        tail = {name: reader.read(fmt) for name, fmt in _ADWIN_TAIL}
    except struct.error as exc:
        raise StateError(f"adwin: river's state layout changed ({exc}); cannot write ADWIN state as JSON") from None
    data = {**head, "bucket_list": buckets, "args": tail}
    if reader.pos != len(raw) or _adwin_bytes(data) != raw:
        raise StateError("adwin: river's state layout changed; cannot write ADWIN state as JSON")
    return data


def _adwin_bytes(data: dict[str, Any]) -> bytes:
    parts = [struct.pack("<" + fmt, data[name]) for name, fmt in _ADWIN_HEAD]
    parts.append(struct.pack("<Q", len(data["bucket_list"])))
    for bucket in data["bucket_list"]:
        parts.append(struct.pack("<QQ", bucket["max_size"], bucket["current_idx"]))
        for key in ("totals", "variances"):
            values = bucket[key]
            parts.append(struct.pack(f"<Q{len(values)}d", len(values), *values))
    parts.extend(struct.pack("<" + fmt, data["args"][name]) for name, fmt in _ADWIN_TAIL)
    return b"".join(parts)


def _adwin_from_json(data: dict[str, Any]) -> Any:
    if AdaptiveWindowing is None:  # pragma: no cover
        raise StateError("adwin: this river has no Rust AdaptiveWindowing; install river>=0.23")
    args = data["args"]
    helper = AdaptiveWindowing(
        args["delta"], args["clock"], args["max_buckets"], args["min_window_length"], args["grace_period"]
    )
    try:
        helper.__setstate__(_adwin_bytes(data))
    except Exception as exc:  # the Rust side reports a bad layout as a generic error
        raise StateError(f"adwin: river refused the saved window: {exc}") from None
    return helper
