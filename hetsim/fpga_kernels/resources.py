"""Resources of one compute unit from its structure, and the fit of a whole placement.

Why: a design that does not fit the card is not a design. The structure (MACs, memories,
ports, comparators) is read off the HLS code by each design's ``structure`` function; what
one operation costs in DSP/BRAM/URAM/LUT is device data (``fpga.resources`` of the device
file, each number with its source), passed in here as a mapping so this package stays free
of hetsim's config layer.
"""

from __future__ import annotations

import math
from typing import Mapping

from ._common import Structure

RESOURCE_KEYS = ("DSP", "BRAM_18K", "URAM", "LUT")


def _get(costs: Mapping[str, object], key: str) -> object:
    if key not in costs:
        raise ValueError(f"resource costs lack {key!r}")
    return costs[key]


def unit_resources(s: Structure, costs: Mapping[str, object]) -> dict[str, int]:
    """DSP, BRAM_18K, URAM and LUT of one unit with structure *s* under the per-op *costs*."""
    dsp_mac = _get(costs, "dsp_per_mac")
    lut_mac = _get(costs, "lut_per_mac")
    if s.mac_type not in dsp_mac or s.mac_type not in lut_mac:  # type: ignore[operator]
        raise ValueError(f"resource costs have no MAC cost for {s.mac_type!r}")
    dsp = s.macs * float(dsp_mac[s.mac_type]) + s.fp_ops * float(_get(costs, "dsp_per_fp_op"))  # type: ignore[index]
    bram = uram = 0
    reg_bits = 0
    uw, ud = _get(costs, "uram_shape")  # type: ignore[misc]
    for m in s.memories:
        if m.kind == "bram":
            per = min(math.ceil(m.width_bits / w) * math.ceil(m.depth / d)
                      for w, d in _get(costs, "bram_18k_shapes"))  # type: ignore[union-attr]
            bram += m.copies * per
        elif m.kind == "uram":
            uram += m.copies * math.ceil(m.width_bits / uw) * math.ceil(m.depth / ud)
        elif m.kind == "reg":
            reg_bits += m.copies * m.width_bits * m.depth
        else:
            raise ValueError(f"memory kind must be bram, uram or reg, got {m.kind!r}")
    lut = (float(_get(costs, "lut_base")) + s.ports * float(_get(costs, "lut_per_port"))
           + s.macs * float(lut_mac[s.mac_type]) + s.fp_ops * float(_get(costs, "lut_per_fp_op"))  # type: ignore[index]
           + reg_bits * float(_get(costs, "lut_per_reg_bit"))
           + s.comparators * float(_get(costs, "lut_per_comparator")))
    return {"DSP": math.ceil(dsp), "BRAM_18K": int(bram), "URAM": int(uram), "LUT": math.ceil(lut)}


def placement_overflow(units: Mapping[str, tuple[int, int, Mapping[str, int]]], capacity: Mapping[str, int],
                       channels: int) -> list[str]:
    """Budgets a placement exceeds, one sentence each (empty when it fits).

    Parameters
    ----------
    units : Mapping
        placement name -> (compute units, ports per unit, resources per unit).
    capacity : Mapping[str, int]
        The card's usable resources.
    channels : int
        HBM pseudo-channels of the card.
    """
    problems = []
    ports = {n: cu * p for n, (cu, p, _) in units.items()}
    if sum(ports.values()) > channels:
        parts = ", ".join(f"{n} {units[n][0]}x{units[n][1]}" for n in ports)
        problems.append(f"HBM pseudo-channels: {sum(ports.values())} needed ({parts}), the card has {channels}")
    for key, cap in capacity.items():
        used = {n: cu * int(r.get(key, 0)) for n, (cu, _, r) in units.items()}
        if sum(used.values()) > cap:
            parts = ", ".join(f"{n} {v}" for n, v in used.items() if v)
            problems.append(f"{key}: {sum(used.values())} needed ({parts}), the card has {cap}")
    return problems
