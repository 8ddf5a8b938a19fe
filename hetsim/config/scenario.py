"""A scenario: a system, a workload, a mapping and run options, as one validated object."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .device import Strict
from .system import SystemSpec


class WorkloadRef(Strict):
    """Which workload builder to call and its parameters (validated by the builder)."""

    name: str = Field(description="workload registry name, e.g. dsa_decode")
    params: dict[str, Any] = Field(default_factory=dict)


class MappingRef(Strict):
    """Which mapping policy places tasks and data, and its parameters."""

    policy: str = Field("gpu-only", description="mapping registry name, e.g. hetero")
    params: dict[str, Any] = Field(default_factory=dict)


class RunOptions(Strict):
    """Engine options."""

    queue_policy: Literal["fifo", "critical-path-first"] = Field(
        "fifo", description="order in which ready tasks get a busy engine")
    power_off_unused: bool = Field(
        True, description="devices a mapping leaves without tasks or data draw no idle power")
    max_tasks: int = Field(
        100_000, ge=1, description="largest task graph a run builds; larger workloads are "
                                   "refused before building (size guard)")
    engine: Literal["auto", "simpy", "fast"] = Field(
        "auto", description="engine path: simpy (reference), fast (identical traces, no SimPy), "
                            "auto (fast unless the run needs SimPy)")
    fast_forward: Literal["auto", "on", "off"] = Field(
        "auto", description="steady-state fast-forward over repeated layers and decode steps: "
                            "on, off, or auto (on for large runs of a repeating workload)")
    free_transfers: tuple[str, ...] = Field(
        (), description="the study's assumption (shared/reference/heterollm.md section 5): "
                        "transfers that build a memory structure cross the link for free; each "
                        "entry is a resident-data name (a transfer into a Prepare Memory task "
                        "that updates it) or an edge pattern 'producer->consumer' (fnmatch)")
    serialize: bool = Field(
        False, description="the study's serial model: run every task and transfer one after "
                           "another in a fixed topological order (no overlap, no contention)")


class Scenario(Strict):
    """Everything one simulation needs."""

    name: str
    description: str = ""
    system: SystemSpec
    workload: WorkloadRef
    mapping: MappingRef = MappingRef()
    run: RunOptions = RunOptions()
    seed: int = Field(0, ge=0, description="seed of the one random generator of a run")
