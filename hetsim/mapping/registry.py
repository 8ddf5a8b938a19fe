"""Every mapping policy by the name users write (scenario ``mapping.policy``, ``--mapping``).

Plug-ins come in through the entry-point group ``hetsim.mappings``; a clashing name is an
error.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import entry_points
from typing import Callable

from ..errors import ConfigError
from .base import Mapping, check_mapping
from .fpga_max import fpga_max
from .gpu_only import gpu_only, single
from .heft import heft
from .hetero import hetero
from .search import optimal

Policy = Callable[..., Mapping]

_BUILTIN: dict[str, Policy] = {
    "gpu-only": gpu_only,
    "hetero": hetero,
    "fpga-max": fpga_max,
    "heft": heft,
    "optimal": optimal,
    "single": single,
}


@lru_cache(maxsize=None)
def _plugins(group: str) -> tuple:
    """Entry points of *group*, scanned once per process (a scan costs ~20 ms; sweeps ask per run)."""
    return tuple(entry_points(group=group))


def policies() -> dict[str, Policy]:
    """Built-in and plug-in policies by name."""
    out = dict(_BUILTIN)
    for ep in _plugins("hetsim.mappings"):
        if ep.name in out:
            raise ConfigError(f"plug-in mapping {ep.name!r} ({ep.value}) clashes with an existing one")
        out[ep.name] = ep.load()
    return out


def map_graph(name: str, graph, system, params: dict | None = None, *, evaluate=None) -> Mapping:
    """Run policy *name* and check its mapping.

    *evaluate* (Mapping -> result) lets search policies simulate candidates; the simulation
    layer passes it in, so policies never import the engine.
    """
    reg = policies()
    if name not in reg:
        raise ConfigError(f"unknown mapping policy {name!r}; known: {', '.join(sorted(reg))}",
                          field="mapping.policy")
    m = reg[name](graph, system, dict(params or {}), evaluate=evaluate)
    check_mapping(graph, system, m)
    return m
