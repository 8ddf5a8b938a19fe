"""A GPU software stack as data: how a library call becomes kernels on a GPU.

The same work costs different time under different software: a PyTorch-eager ``topk`` is
several kernels (radix-select passes, a gather, a sort of the winners), an unfused lightning
indexer is an einsum, a ReLU, a weighting and a sum with the ``[heads x keys]`` logits
written to and read back from memory, while a tuned stack fuses each into one kernel. A stack
file (``device_models/stacks/<name>.yaml``) says, per kernel class and per kernel:

* ``launches``: kernels per library call, each paying the device's launch overhead;
* ``floor_s``: the shortest time the call's work phase takes however small the input
  (dependent passes, grid-wide synchronisation), optionally per GPU family (the device file's ``family``, e.g. ``cdna2``);
* ``shape``: implementation-variant shape keys (``indexer_score.intermediate: 1`` = the
  intermediate goes through memory, so its traffic is counted);
* ``row_waves_by_family``: where a library call gives each row (shape key ``batch``) one
  workgroup, rows beyond the first wave of ``rows_per_wave`` (about one per compute unit)
  each add ``wave_s`` per extra wave to the floor (ROCm's small-slice top-k sorts each
  slice in one workgroup);
* ``efficiency``: memory/compute fractions that replace the device's for that class
  (``efficiency_by_family`` per GPU family, winning over ``efficiency``), e.g. where a
  library kernel's launch shape, not the memory system, bounds its bandwidth; for a
  GEMM-shaped call on a device with a tile model, the memory fraction replaces the tile
  fit's weight-streaming ``memory_efficiency`` (the library's skinny-GEMM kernels).

The cost of a call is then ``launches x launch_overhead + max(floor, roofline work)``.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from ..kernels import KERNEL_CLASSES
from .device import ClassEfficiency, Strict
from .quantity import Seconds, quantity

Count = quantity("1", gt=0)


class RowWaves(Strict):
    """Rows processed one workgroup each, in waves over the compute units."""

    rows_per_wave: Count = Field(description="rows one wave holds (about one per CU)")
    wave_s: Seconds = Field(description="time each wave after the first adds, in s")


class StackEntry(Strict):
    """How one kernel class, or one kernel, runs under a stack."""

    launches: int | None = Field(None, ge=1, le=64, description="kernels per library call")
    floor_s: Seconds | None = Field(None, description="minimum work-phase time in s")
    floor_s_by_family: dict[str, Seconds] = Field(
        default_factory=dict, description="GPU family (device 'family') -> floor in s (wins over floor_s)")
    row_waves_by_family: dict[str, RowWaves] = Field(
        default_factory=dict, description="GPU family -> per-row workgroup waves added to the floor")
    shape: dict[str, int] = Field(default_factory=dict,
                                  description="implementation-variant shape keys to apply")
    efficiency: ClassEfficiency | None = None
    efficiency_by_family: dict[str, ClassEfficiency] = Field(
        default_factory=dict, description="GPU family -> efficiencies (wins over efficiency)")
    note: str = ""


class StackSpec(Strict):
    """One software stack (see module doc)."""

    name: str
    description: str = ""
    sources: dict[str, str] = Field(default_factory=dict)
    classes: dict[str, StackEntry] = Field(default_factory=dict)
    kernels: dict[str, StackEntry] = Field(default_factory=dict)

    @field_validator("classes")
    @classmethod
    def _known_classes(cls, v):
        for k in v:
            if k not in KERNEL_CLASSES:
                raise ValueError(f"unknown kernel class {k!r}; allowed: {', '.join(KERNEL_CLASSES)}")
        return v

    def row_waves(self, kernel: str, cls: str, family: str | None) -> RowWaves | None:
        """The per-row wave term of *kernel* (class *cls*) on *family*, kernel entry first."""
        for e in (self.kernels.get(kernel), self.classes.get(cls)):
            if e is not None and family is not None and family in e.row_waves_by_family:
                return e.row_waves_by_family[family]
        return None

    def entry(self, kernel: str, cls: str, family: str | None) -> tuple[int, float, dict, ClassEfficiency | None]:
        """``(launches, floor_s, shape overrides, efficiency)`` of *kernel* (class *cls*) on
        a GPU of *family*; a kernel entry wins over its class entry field by field."""
        k, c = self.kernels.get(kernel), self.classes.get(cls)
        launches, floor, shape, eff = 1, 0.0, {}, None
        for e in (c, k):  # class first, kernel overrides
            if e is None:
                continue
            if e.launches is not None:
                launches = e.launches
            if family is not None and family in e.floor_s_by_family:
                floor = float(e.floor_s_by_family[family])
            elif e.floor_s is not None:
                floor = float(e.floor_s)
            shape = {**shape, **e.shape}
            if family is not None and family in e.efficiency_by_family:
                eff = e.efficiency_by_family[family]
            elif e.efficiency is not None:
                eff = e.efficiency
        return launches, floor, shape, eff
