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
* ``shape_above``: implementation-variant shape keys that apply only above a size (a library
  that switches kernels at a threshold: PyTorch's softmax holds a row of up to 1,024 elements
  in registers and re-reads longer rows from memory, ``{key: cols, above: 1024, shape:
  {reads: 3}}``); applied after ``shape``, in order; ``shape_above_by_family`` per GPU family
  (wins over ``shape_above`` for that family);
* ``row_waves_by_family``: where a library call gives each row (shape key ``batch``) one
  workgroup, rows beyond the first wave of ``rows_per_wave`` (about one per compute unit)
  each add ``wave_s`` per extra wave to the floor (ROCm's small-slice top-k sorts each
  slice in one workgroup);
* ``efficiency``: memory/compute fractions that replace the device's for that class
  (``efficiency_by_family`` per GPU family, winning over ``efficiency``), e.g. where a
  library kernel's launch shape, not the memory system, bounds its bandwidth; for a
  GEMM-shaped call on a device with a tile model, the memory fraction replaces the tile
  fit's weight-streaming ``memory_efficiency`` (the library's skinny-GEMM kernels).

* ``dispatch_by_family``: host-serialised eager ops a library-level loop issues around its
  kernels (the PyTorch MoE reference's per-expert index/cast/activation/scatter ops and the
  copies that synchronise the host), counted from the code: ``ops`` per call plus
  ``ops_per_item`` per unit of a shape key (``per``, e.g. ``experts_touched``), each costing
  ``op_s`` of host time that the GPU waits for.

* ``row_latency_by_family``: where a library kernel gives each row (shape keys ``rows``,
  ``cols``) one thread block of ``threads`` threads, each thread waiting for one load of
  ``vector_bytes`` at a time, ``passes`` times over the row, a few long rows cannot fill the
  memory system: the call takes at least ``passes x ceil(row bytes / (threads x
  vector_bytes)) x waves`` memory latencies (the device's ``memory.load_latency_s``), with
  ``waves = ceil(rows / (compute units x resident_per_unit))``; the work phase is the larger
  of this and the roofline (PyTorch's LayerNorm over 16 rows of 4M elements: 16 busy SMs).

* ``unit_dim_by_family``: how the library runs a GEMM-shaped call with a unit free dimension
  (``m`` or ``n`` = 1, one GEMM per launch), per GPU family: ``kernel: gemv`` where the
  library hands it to a matrix-vector kernel (cuBLAS), priced as one stream of the operands
  at the device's ``gemv`` efficiencies; ``kernel: tiles`` with ``split_k`` where it reaches
  the tile GEMM kernels with only those k splits (rocBLAS's plain ``?gemm``: a length-one
  output tile runs the whole k loop); ``dtypes`` limits the rule (empty: every dtype).

* ``isolated_call_s_by_family``: the host time of one eager call timed *alone* (events
  around a single call on an idle GPU, as NeuSight's tracer does), beyond the launch: the
  host's dispatch of the op sits inside such an interval, where a stream of calls hides it.
  It prices measurements, not simulations: a ``hetsim validate`` row with
  ``timing=isolated`` adds it, less any dispatch the call's price already carries.

The cost of a call is then ``launches x launch_overhead + dispatch ops x op_s
+ max(floor, roofline work)``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from ..kernels import KERNEL_CLASSES, KERNELS
from .device import ClassEfficiency, Strict
from .quantity import Seconds, quantity

Count = quantity("1", gt=0)


class RowWaves(Strict):
    """Rows processed one workgroup each, in waves over the compute units."""

    rows_per_wave: Count = Field(description="rows one wave holds (about one per CU)")
    wave_s: Seconds = Field(description="time each wave after the first adds, in s")


class Dispatch(Strict):
    """Host-serialised eager ops around a call's kernels (see module doc)."""

    per: str | None = Field(None, description="shape key counting the loop's items (e.g. experts_touched)")
    ops: int = Field(0, ge=0, description="eager ops per call")
    ops_per_item: int = Field(0, ge=0, description="eager ops per item of `per`")
    op_s: Seconds = Field(description="host time per eager op the GPU waits for, in s")

    def ops_for(self, shape: dict) -> int:
        """Eager ops of one call at the (resolved) *shape*."""
        n = 0
        if self.per is not None:
            if self.per not in shape:
                raise ValueError(f"dispatch per {self.per!r} is not a shape key of this call")
            n = int(shape[self.per])
        return self.ops + self.ops_per_item * n


class RowLatency(Strict):
    """One thread block per row, each thread one load in flight at a time (see module doc)."""

    threads: int = Field(ge=1, le=4096, description="threads per block (one block per row)")
    vector_bytes: int = Field(ge=1, le=256, description="bytes one thread loads per step")
    passes: int = Field(ge=1, le=64, description="dependent passes over the row")
    resident_per_unit: int = Field(ge=1, le=64, description="blocks one compute unit holds at once")
    note: str = ""

    def time_s(self, rows: int, cols: int, elem_bytes: int, units: int, latency_s: float) -> float:
        """Latency-bound time of the call's work phase (s)."""
        steps = -(-int(cols) * int(elem_bytes) // (self.threads * self.vector_bytes))
        waves = -(-int(rows) // (int(units) * self.resident_per_unit))
        return self.passes * steps * waves * float(latency_s)


class UnitDim(Strict):
    """How a library runs a GEMM with m or n = 1 (see module doc)."""

    kernel: Literal["gemv", "tiles"] = Field(description="gemv: a matrix-vector kernel; tiles: "
                                             "the tile GEMM kernels with `split_k` only")
    split_k: tuple[int, ...] | None = Field(None, min_length=1, description="k splits the tile "
                                            "kernels may use (kernel: tiles)")
    dtypes: tuple[str, ...] = Field((), description="dtypes the rule applies to (empty: all)")
    note: str = ""

    @model_validator(mode="after")
    def _split_for_tiles(self):
        if (self.kernel == "tiles") != (self.split_k is not None):
            raise ValueError("split_k is required with kernel: tiles and not allowed with kernel: gemv")
        if self.split_k is not None and min(self.split_k) < 1:
            raise ValueError(f"split_k: every split must be >= 1, got {list(self.split_k)}")
        return self

    def applies(self, dtype: str) -> bool:
        return not self.dtypes or dtype in self.dtypes


class ShapeAbove(Strict):
    """Shape keys a library call takes when one of its sizes exceeds a threshold."""

    key: str = Field(min_length=1, description="shape key compared (e.g. cols)")
    above: int = Field(ge=0, description="the rule applies when the key's value is above this")
    shape: dict[str, int] = Field(min_length=1, description="shape keys then set")


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
    shape_above: tuple[ShapeAbove, ...] = Field(
        (), description="shape keys set only above a size (see module doc)")
    shape_above_by_family: dict[str, tuple[ShapeAbove, ...]] = Field(
        default_factory=dict, description="GPU family -> shape_above rules (win over shape_above)")
    efficiency: ClassEfficiency | None = None
    efficiency_by_family: dict[str, ClassEfficiency] = Field(
        default_factory=dict, description="GPU family -> efficiencies (wins over efficiency)")
    dispatch_by_family: dict[str, Dispatch] = Field(
        default_factory=dict, description="GPU family -> host-serialised eager ops around the call")
    row_latency_by_family: dict[str, RowLatency] = Field(
        default_factory=dict, description="GPU family -> one-block-per-row latency bound (kernels "
        "with rows and cols)")
    unit_dim_by_family: dict[str, UnitDim] = Field(
        default_factory=dict, description="GPU family -> how a GEMM with m or n = 1 runs "
        "(GEMM-shaped kernels)")
    note: str = ""


class StackSpec(Strict):
    """One software stack (see module doc)."""

    name: str
    description: str = ""
    sources: dict[str, str] = Field(default_factory=dict)
    classes: dict[str, StackEntry] = Field(default_factory=dict)
    kernels: dict[str, StackEntry] = Field(default_factory=dict)
    isolated_call_s_by_family: dict[str, Seconds] = Field(
        default_factory=dict, description="GPU family -> host time of one eager call timed alone, "
        "beyond its launch, in s (validation rows with timing=isolated)")

    @field_validator("classes")
    @classmethod
    def _known_classes(cls, v):
        for k in v:
            if k not in KERNEL_CLASSES:
                raise ValueError(f"unknown kernel class {k!r}; allowed: {', '.join(KERNEL_CLASSES)}")
        return v

    @field_validator("kernels")
    @classmethod
    def _dispatch_keys(cls, v):
        for name, e in v.items():
            spec = KERNELS.get(name)
            if spec is None:  # an entry no task can use (was ignored silently: a misspelt kernel)
                raise ValueError(f"unknown kernel {name!r}; allowed: {', '.join(sorted(KERNELS))}")
            allowed = (*spec.shape_keys, *spec.defaults)
            for rule in (*e.shape_above, *(r for rs in e.shape_above_by_family.values() for r in rs)):
                for key in (rule.key, *rule.shape):
                    if key not in allowed:
                        raise ValueError(f"{name}.shape_above: {key!r} is not a shape key of {name}; "
                                         f"allowed: {', '.join(sorted(set(allowed)))}")
            for key, value in e.shape.items():
                if key not in allowed:
                    raise ValueError(f"{name}.shape: {key!r} is not a shape key of {name}; "
                                     f"allowed: {', '.join(sorted(set(allowed)))}")
                if value < 0:
                    raise ValueError(f"{name}.shape.{key}: must be an integer >= 0, got {value}")
            if e.unit_dim_by_family and name not in ("gemm", "router", "bmm"):
                raise ValueError(f"kernels.{name}.unit_dim_by_family: only GEMM-shaped kernels "
                                 "(gemm, router, bmm) have a unit dimension")
            if e.row_latency_by_family and not {"rows", "cols"} <= set(spec.shape_keys):
                raise ValueError(f"kernels.{name}.row_latency_by_family: {name} has no rows and cols "
                                 f"shape keys (its keys: {', '.join(spec.shape_keys)})")
            for fam, d in e.dispatch_by_family.items():
                if spec is not None and d.per is not None and d.per not in (*spec.shape_keys, *spec.defaults):
                    raise ValueError(f"kernels.{name}.dispatch_by_family.{fam}.per: {d.per!r} is not a shape "
                                     f"key of {name}; allowed: {', '.join(spec.shape_keys)}")
        return v

    def row_waves(self, kernel: str, cls: str, family: str | None) -> RowWaves | None:
        """The per-row wave term of *kernel* (class *cls*) on *family*, kernel entry first."""
        for e in (self.kernels.get(kernel), self.classes.get(cls)):
            if e is not None and family is not None and family in e.row_waves_by_family:
                return e.row_waves_by_family[family]
        return None

    def unit_dim(self, kernel: str, family: str | None, dtype: str) -> UnitDim | None:
        """How *kernel* runs with m or n = 1 on *family* at *dtype* (kernel entries only)."""
        e = self.kernels.get(kernel)
        if e is None or family is None:
            return None
        u = e.unit_dim_by_family.get(family)
        return u if u is not None and u.applies(dtype) else None

    def row_latency(self, kernel: str, family: str | None) -> RowLatency | None:
        """The one-block-per-row latency bound of *kernel* on *family* (kernel entries only)."""
        e = self.kernels.get(kernel)
        if e is not None and family is not None:
            return e.row_latency_by_family.get(family)
        return None

    def dispatch(self, kernel: str, cls: str, family: str | None) -> Dispatch | None:
        """The eager dispatch term of *kernel* (class *cls*) on *family*, kernel entry first."""
        for e in (self.kernels.get(kernel), self.classes.get(cls)):
            if e is not None and family is not None and family in e.dispatch_by_family:
                return e.dispatch_by_family[family]
        return None

    def isolated_extra_s(self, kernel: str, cls: str, family: str | None, shape: dict) -> float | None:
        """What a call timed alone adds to its stream price on *family*: the isolated-call host
        time less the dispatch the price already carries (never below 0); None where the stack
        has no isolated-call time for *family*."""
        iso = self.isolated_call_s_by_family.get(family) if family is not None else None
        if iso is None:
            return None
        d = self.dispatch(kernel, cls, family)
        carried = d.ops_for(shape) * float(d.op_s) if d is not None else 0.0
        return max(0.0, float(iso) - carried)

    def entry(self, kernel: str, cls: str, family: str | None,
              full: dict | None = None) -> tuple[int, float, dict, ClassEfficiency | None]:
        """``(launches, floor_s, shape overrides, efficiency)`` of *kernel* (class *cls*) on
        a GPU of *family*; a kernel entry wins over its class entry field by field. With the
        call's resolved shape *full*, ``shape_above`` rules whose size is exceeded apply too."""
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
            rules = e.shape_above_by_family.get(family, e.shape_above) if family is not None else e.shape_above
            if rules and full is not None:
                for rule in rules:
                    if int(full.get(rule.key, 0)) > rule.above:
                        shape = {**shape, **rule.shape}
            if family is not None and family in e.efficiency_by_family:
                eff = e.efficiency_by_family[family]
            elif e.efficiency is not None:
                eff = e.efficiency
        return launches, floor, shape, eff
