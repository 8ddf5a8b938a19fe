"""Numbers that remember where they came from.

Device files give every number with its source (``{value: 1.6384e12, source: "S1 ..."}``) or
as a plain number / unit string in user scenarios. :func:`quantity` builds a pydantic type that
accepts all three forms and yields a :class:`Q`: a ``float`` in SI units that also carries
``source`` and ``measured``, so the simulator computes with plain floats while
``hetsim devices show`` and ``hetsim devices check`` can still report provenance.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema

from ..limits import MAX_CALL_S
from ..units import parse_quantity


class Q(float):
    """A float in SI units with optional provenance (``source`` or ``measured``)."""

    source: str | None
    measured: str | None
    note: str | None

    def __new__(cls, value: float, source: str | None = None, measured: str | None = None,
                note: str | None = None) -> "Q":
        obj = super().__new__(cls, value)
        obj.source, obj.measured, obj.note = source, measured, note
        return obj

    def __reduce__(self):
        return (Q, (float(self), self.source, self.measured, self.note))

    @property
    def has_provenance(self) -> bool:
        """True when the number says where it came from."""
        return bool((self.source or "").strip() or (self.measured or "").strip())


_KEYS = {"value", "source", "measured", "note"}


def _make_validator(dimension: str, ge: float | None, gt: float | None, le: float | None):
    def validate(raw: Any) -> Q:
        if isinstance(raw, Q):
            value, src, meas, note = float(raw), raw.source, raw.measured, raw.note
        elif isinstance(raw, dict):
            extra = set(raw) - _KEYS
            if extra:
                raise ValueError(f"unknown keys {sorted(extra, key=str)}; a sourced number has keys "
                                 "value, source (or measured), note")
            if "value" not in raw:
                raise ValueError("a sourced number needs 'value'")
            src, meas, note = raw.get("source"), raw.get("measured"), raw.get("note")
            for k, v in (("source", src), ("measured", meas), ("note", note)):
                if v is not None and not isinstance(v, str):
                    raise ValueError(f"'{k}' must be text, got {type(v).__name__}")
            value = parse_quantity(raw["value"], dimension)
        else:
            value, src, meas, note = parse_quantity(raw, dimension), None, None, None
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"must be a finite number, got {value}")
        unit = "" if dimension == "1" else f" {dimension}"  # a plain ratio has no unit to name
        if ge is not None and value < ge:
            raise ValueError(f"must be >= {ge:g}{unit}, got {value:g}")
        if gt is not None and value <= gt:
            raise ValueError(f"must be > {gt:g}{unit}, got {value:g}")
        if le is not None and value > le:
            raise ValueError(f"must be <= {le:g}{unit}, got {value:g}")
        return Q(value, src, meas, note)

    return validate


def _serialize(q: Q) -> Any:
    if isinstance(q, Q) and (q.source or q.measured or q.note):
        out: dict[str, Any] = {"value": float(q)}
        for k in ("source", "measured", "note"):
            if getattr(q, k):
                out[k] = getattr(q, k)
        return out
    return float(q)


def quantity(dimension: str, *, ge: float | None = None, gt: float | None = None,
             le: float | None = None):
    """Return an annotated pydantic type for a sourced SI quantity of *dimension*."""
    return Annotated[
        Q,
        PlainValidator(_make_validator(dimension, ge, gt, le)),
        PlainSerializer(_serialize),
        WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string"}, {"type": "object"}],
                        "description": f"quantity in {dimension}"}),
    ]


Seconds = quantity("s", ge=0, le=MAX_CALL_S)
Bytes = quantity("B", ge=0)
PositiveBytes = quantity("B", gt=0)
# rates and fractions have a floor well below any real device (a tiny positive value such as
# 1e-300 B/s passed "> 0" and then overflowed or divided by an underflowed zero in pricing)
Bandwidth = quantity("B/s", ge=1)
FlopRate = quantity("FLOP/s", ge=1)
Watts = quantity("W", ge=0)
Hertz = quantity("Hz", ge=1)
JoulePerByte = quantity("J/B", ge=0)
Fraction = quantity("1", ge=1e-6, le=1)
Ratio = quantity("1", ge=0)


def iter_quantities(obj: Any, path: str = ""):
    """Yield ``(dotted_path, Q)`` for every sourced number inside a pydantic model tree."""
    from pydantic import BaseModel

    if isinstance(obj, Q):
        yield path, obj
    elif isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            yield from iter_quantities(getattr(obj, name), f"{path}.{name}" if path else name)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from iter_quantities(v, f"{path}.{k}" if path else str(k))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from iter_quantities(v, f"{path}.{i}" if path else str(i))
