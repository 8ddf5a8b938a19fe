"""What a mapping policy returns, and the checks every mapping must pass.

A policy takes (graph, system, params) and returns a :class:`Mapping` without changing
either input. :func:`check_mapping` then verifies that every task has a known device and
engine pool, that tasks working in place on resident data run where the data lives, and
that the data fits into each device's memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from ..config.device import DeviceSpec
from ..config.system import SystemSpec
from ..errors import CapacityError, MappingError
from ..units import format_quantity


@dataclass(frozen=True)
class Mapping:
    """Task -> device, optional task -> engine pool, and data -> device."""

    policy: str
    assignment: dict[str, str]
    placement: dict[str, str]
    pools: dict[str, str] = field(default_factory=dict)

    def pool_of(self, task: str, device: DeviceSpec) -> str:
        """Engine pool a task uses (its assigned pool or the device's first)."""
        return self.pools.get(task, device.engines[0].name)


def first_of_kind(system: SystemSpec, kind: str, name: str | None = None) -> DeviceSpec:
    """Return device *name*, or the first device of *kind* in the system."""
    if name is not None:
        try:
            dev = system.device(name)
        except KeyError:
            raise MappingError(f"unknown device {name!r}; devices: {', '.join(system.device_names)}") from None
        if dev.kind != kind:
            raise MappingError(f"device {name!r} is a {dev.kind}, expected a {kind}")
        return dev
    for d in system.devices:
        if d.kind == kind:
            return d
    raise MappingError(f"the system has no {kind} device; devices: "
                       + ", ".join(f"{d.name} ({d.kind})" for d in system.devices))


def check_mapping(graph: nx.DiGraph, system: SystemSpec, mapping: Mapping) -> None:
    """Raise MappingError / CapacityError if *mapping* cannot run on *system*."""
    names = set(system.device_names)
    specs: dict[str, DeviceSpec] = {}
    for d in system.devices:  # the first of a name, as system.device() finds it
        specs.setdefault(d.name, d)
    pools = {name: {p.name for p in spec.engines} for name, spec in specs.items()}
    data = graph.graph.get("data", {})
    for n, attrs in graph.nodes(data=True):
        t = attrs["task"]
        if t.is_transfer:
            continue
        dev = mapping.assignment.get(n)
        if dev is None:
            raise MappingError(f"mapping {mapping.policy!r} leaves task {n!r} unplaced")
        if dev not in names:
            raise MappingError(f"task {n!r} is mapped to unknown device {dev!r}; devices: "
                               f"{', '.join(system.device_names)}")
        spec = specs[dev]
        pool = mapping.pool_of(n, spec)
        if pool not in pools[dev]:
            raise MappingError(f"task {n!r}: device {dev!r} has no engine pool {pool!r}")
        for d in t.data:
            home = mapping.placement.get(d)
            if home != dev:
                raise MappingError(f"task {n!r} works on {d!r} in place but runs on {dev!r} while "
                                   f"{d!r} lives on {home!r}")
    for d in data:
        if mapping.placement.get(d) not in names:
            raise MappingError(f"data {d!r} is placed on unknown device {mapping.placement.get(d)!r}")
    used: dict[str, int] = {}
    for d, size in data.items():
        used[mapping.placement[d]] = used.get(mapping.placement[d], 0) + size
    for dev, total in sorted(used.items()):
        cap = float(system.device(dev).memory.capacity_bytes)
        if total > cap:
            parts = ", ".join(f"{d} {format_quantity(s, 'B')}" for d, s in sorted(data.items())
                              if mapping.placement[d] == dev)
            raise CapacityError(f"device {dev!r} memory holds {format_quantity(cap, 'B')} but "
                                f"mapping {mapping.policy!r} places {format_quantity(total, 'B')} "
                                f"on it ({parts})")
