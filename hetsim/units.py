"""SI units and the one place that converts human-written quantities.

Inside hetsim every quantity is a plain float in SI units: s, B, B/s, FLOP, FLOP/s, W, J, Hz.
Scenario and device files may write ``"64 GB/s"``, ``"16 GiB"``, ``"5 us"`` or ``"300 MHz"``;
:func:`parse_quantity` turns such strings into SI floats. Decimal (k, M, G, T) and binary
(Ki, Mi, Gi, Ti) prefixes stay distinct, and unknown units are rejected rather than guessed.

>>> parse_quantity("64 GB/s", "B/s")
64000000000.0
>>> parse_quantity("16 GiB", "B")
17179869184.0
>>> parse_quantity("5 us", "s")
5e-06
>>> parse_quantity(3.0, "W")
3.0
"""

from __future__ import annotations

import re

#: The dimensions a quantity can have, keyed by the canonical SI unit string.
DIMENSIONS = ("s", "B", "B/s", "FLOP", "FLOP/s", "W", "J", "Hz", "J/B", "1")

# decimal prefixes as powers of ten, so that "5 us" is 5 / 10**6 exactly as Python divides
_DECIMAL = {"p": -12, "n": -9, "u": -6, "µ": -6, "m": -3,
            "k": 3, "K": 3, "M": 6, "G": 9, "T": 12, "P": 15}
_BINARY = {"Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40}

# unit spelling -> (dimension, factor to SI); prefixes are applied on top.
_BASE_UNITS = {
    "s": ("s", 1.0), "sec": ("s", 1.0),
    "B": ("B", 1.0), "bit": ("B", 1 / 8), "b": ("B", 1 / 8),
    "B/s": ("B/s", 1.0), "Bps": ("B/s", 1.0), "bit/s": ("B/s", 1 / 8), "b/s": ("B/s", 1 / 8),
    "FLOP": ("FLOP", 1.0), "FLOPS": ("FLOP/s", 1.0), "FLOP/s": ("FLOP/s", 1.0),
    "OP/s": ("FLOP/s", 1.0), "OPS": ("FLOP/s", 1.0),
    "W": ("W", 1.0), "J": ("J", 1.0), "Hz": ("Hz", 1.0),
    "J/B": ("J/B", 1.0), "J/bit": ("J/B", 8.0),
}
_TIME_WORDS = {"min": 60.0, "h": 3600.0}

_PATTERN = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([^\s].*)?$")


def _scale(number: float, exponent: int) -> float:
    return number * 10**exponent if exponent >= 0 else number / 10**-exponent


def _convert(number: float, unit: str) -> tuple[str, float]:
    """Return (dimension, SI value) of *number* written in *unit*."""
    if unit in _BASE_UNITS:
        dim, f = _BASE_UNITS[unit]
        return dim, number * f
    if unit in _TIME_WORDS:
        return "s", number * _TIME_WORDS[unit]
    for prefix, f in _BINARY.items():
        rest = unit[len(prefix):]
        if unit.startswith(prefix) and rest in _BASE_UNITS and _BASE_UNITS[rest][0] in ("B", "B/s"):
            dim, g = _BASE_UNITS[rest]
            return dim, number * f * g
    for prefix, e in _DECIMAL.items():
        rest = unit[len(prefix):]
        if unit.startswith(prefix) and rest in _BASE_UNITS:
            dim, g = _BASE_UNITS[rest]
            return dim, _scale(number, e) * g
    raise ValueError(f"unknown unit {unit!r}")


def parse_quantity(value: float | int | str, dimension: str) -> float:
    """Return *value* as an SI float of the given *dimension*.

    Parameters
    ----------
    value : float, int or str
        A number (already SI) or a string such as ``"1.6 TB/s"``, ``"300 W"``, ``"7.5 pJ/bit"``.
    dimension : str
        One of :data:`DIMENSIONS`; the unit in *value* must have this dimension.

    Raises
    ------
    ValueError
        If the string does not parse, the unit is unknown, or its dimension differs.
    """
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}; allowed: {', '.join(DIMENSIONS)}")
    if isinstance(value, bool):
        raise ValueError(f"expected a number or a quantity string, got {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"expected a number or a quantity string, got {type(value).__name__}")
    m = _PATTERN.match(value)
    if not m:
        raise ValueError(f"cannot read {value!r} as a quantity (write e.g. '64 GB/s', '5 us')")
    number, unit = float(m.group(1)), (m.group(2) or "").strip()
    if not unit:
        return number
    if dimension == "1":
        if unit == "%":
            return number / 100.0
        raise ValueError(f"{value!r}: expected a plain number or a percentage")
    dim, si = _convert(number, unit)
    if dim != dimension:
        raise ValueError(f"{value!r} has unit {unit!r} ({dim}); expected a quantity in {dimension}")
    return si


def format_quantity(value: float, dimension: str, digits: int = 4) -> str:
    """Format an SI float with a decimal prefix for people (the only other edge).

    >>> format_quantity(0.000123, "s")
    '123 us'
    >>> format_quantity(1.6384e12, "B/s")
    '1.638 TB/s'
    """
    if value == 0 or value != value:
        return f"{value:g} {dimension}"
    prefixes = [(1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""),
                (1e-3, "m"), (1e-6, "u"), (1e-9, "n"), (1e-12, "p")]
    mag = abs(value)
    for factor, p in prefixes:
        if mag >= factor * 0.9995:
            break
    unit = dimension if dimension != "1" else ""
    return f"{value / factor:.{digits}g} {p}{unit}".strip()
