"""Does everything a device file places on an FPGA fit the card?

Why: a U55C has 32 HBM pseudo-channels and 9,024 DSPs; a device file that hosts designs
needing more describes a card that cannot exist, and every time priced on it is fiction. All
kernels a device hosts count (one xclbin holds them all), each x its compute units; the
resource model is the device's ``fpga.resources`` (see :mod:`hetsim.fpga_kernels.resources`).
"""

from __future__ import annotations

from ..config.device import DeviceSpec
from ..errors import ConfigError


def placement_usage(device: DeviceSpec) -> dict[str, tuple[int, int, dict[str, int]]]:
    """kernel name -> (compute units, HBM ports per unit, resources per unit) of *device*."""
    from ..fpga_kernels import merged_params, structure, unit_resources

    fpga = device.fpga
    if fpga is None:
        return {}
    costs = fpga.resources.model_dump() if fpga.resources is not None else None
    out = {}
    for name, design in fpga.kernels.items():
        try:
            params = {"clock_hz": float(fpga.clock_hz), **design.params}
            s = structure(design.design, params)
            merged_params(design.design, params)
        except ValueError as e:
            raise ConfigError(f"device {device.name!r}: kernel {name!r}: {e}", field=f"fpga.kernels.{name}") from None
        res = unit_resources(s, costs) if costs is not None else {}
        out[name] = (design.compute_units, s.ports, res)
    return out


def check_fpga_placement(device: DeviceSpec) -> None:
    """Raise ConfigError naming every budget (pseudo-channels, DSP, BRAM_18K, URAM, LUT) the
    kernels placed on *device* exceed together."""
    from ..fpga_kernels import placement_overflow

    if device.fpga is None:
        return
    usage = placement_usage(device)
    cap = dict(device.fpga.resources.capacity) if device.fpga.resources is not None else {}
    problems = placement_overflow(usage, cap, device.fpga.num_hbm_ports)
    if problems:
        raise ConfigError(f"device {device.name!r}: the FPGA kernels do not fit the card: " + "; ".join(problems),
                          field="fpga.kernels")
