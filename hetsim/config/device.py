"""Device descriptions: GPUs, FPGAs and CPUs as compute engines beside one memory.

A device is data. Its numbers live in YAML files under ``device_models/`` (each with a
source) or inline in a scenario. The engine needs: engine pools (how many tasks can run at
once), the memory (capacity and the bandwidth concurrent tasks share), the roofline peaks and
per-kernel-class efficiencies (GPU/CPU), the FPGA clock and kernel designs (FPGA), per-call
launch overhead, and idle/active power.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..kernels import KERNEL_CLASSES
from .quantity import Bandwidth, Fraction, FlopRate, Hertz, JoulePerByte, PositiveBytes, Seconds, Watts

DeviceKind = Literal["gpu", "fpga", "cpu"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EnginePool(Strict):
    """A pool of identical engines; each runs one task at a time.

    NOTE: a GPU is one pool of count 1 by default (one stream: concurrent kernels on a GPU
    share its SMs, so running them "in parallel" would not make them faster); an FPGA may
    have several compute units that run different kernels concurrently.
    """

    name: str = Field("compute", min_length=1, description="pool name used by tasks and traces")
    count: int = Field(1, ge=1, le=1024, description="number of engines in the pool")


class MemorySpec(Strict):
    """The device's own memory (HBM/DDR): capacity and bandwidth shared by its tasks."""

    capacity_bytes: PositiveBytes = Field(description="capacity in B")
    peak_bandwidth_Bps: Bandwidth = Field(description="datasheet peak bandwidth in B/s")
    achievable_bandwidth_Bps: Bandwidth = Field(
        description="bandwidth concurrent tasks share in B/s (measured streaming rate)")
    load_latency_s: Seconds | None = Field(
        None, description="idle load latency of the device memory in s (pointer chase): bounds a "
        "kernel whose few thread blocks each wait for one load at a time (a stack's row_latency)")

    @model_validator(mode="after")
    def _achievable_le_peak(self):
        if self.achievable_bandwidth_Bps > self.peak_bandwidth_Bps * (1 + 1e-9):
            raise ValueError("achievable_bandwidth_Bps must not exceed peak_bandwidth_Bps")
        return self


class ClassEfficiency(Strict):
    """Achieved fraction of peak compute and of achievable bandwidth for a kernel class."""

    compute: Fraction | None = Field(
        None, description="fraction of peak FLOP/s reached (0-1]; needed for kernels with FLOP")
    memory: Fraction = Field(description="fraction of achievable bandwidth reached (0-1]")


class FpgaKernelDesign(Strict):
    """Which HLS design prices a kernel on this FPGA, with its parameters.

    ``compute_units`` replicas of the design (``v++ --connectivity.nk``) split a call's batch
    rows between them; each replica has its own HBM ports.
    """

    design: str = Field(description="cycle-model name in hetsim.fpga_kernels")
    params: dict[str, bool | int | float | str] = Field(
        default_factory=dict, description="design parameters; each must have the type of the design's default")
    compute_units: int = Field(1, ge=1, le=64, description="replicas of the design on the card")
    description: str = ""
    measured: str | None = Field(None, description="provenance of params ingested from a "
                                                   "synthesis report or timed runs")
    resources: dict[str, int] = Field(default_factory=dict,
                                      description="BRAM_18K/DSP/FF/LUT/URAM of one compute unit")


class FpgaPower(Strict):
    """FPGA dynamic power: kernel logic while a design runs, plus energy per HBM byte.

    NOTE: a kernel's board power is ``idle_w + logic_w + hbm_energy_per_byte_j * hbm_bytes /
    work_s``, so it grows with the HBM traffic the design drives (ports in use x rate).
    """

    logic_w: Watts = Field(description="dynamic power of an active kernel's logic and clocks in W")
    hbm_energy_per_byte_j: JoulePerByte = Field(description="HBM access energy in J/B")


class FpgaResourceModel(Strict):
    """The card's fabric budget and what one HLS operation costs in it.

    Why: a design is placed only if all its compute units fit the card's DSP/BRAM/URAM/LUT
    (and its HBM pseudo-channels); the per-op costs turn a design's structure (MACs, memories,
    ports; ``hetsim.fpga_kernels``) into resources. Every number names its source in ``notes``.
    """

    part: str = Field(description="FPGA part the designs are synthesised for (e.g. xcu55c-fsvh2892-2L-e)")
    capacity: dict[str, int] = Field(description="usable LUT, DSP, BRAM_18K, URAM of the card")
    dsp_per_mac: dict[str, float] = Field(description="DSP slices per multiply-accumulate, per operand type")
    dsp_per_fp_op: float = Field(ge=0, description="DSP slices per fp32 add/multiply unit")
    bram_18k_shapes: tuple[tuple[int, int], ...] = Field(description="(width, depth) aspect ratios of one BRAM_18K")
    uram_shape: tuple[int, int] = Field(description="(width, depth) of one URAM")
    lut_per_port: float = Field(ge=0, description="LUTs of one 512-bit AXI master (HBM port)")
    lut_per_mac: dict[str, float] = Field(description="LUTs per MAC (adder tree, muxes), per operand type")
    lut_per_fp_op: float = Field(ge=0, description="LUTs per fp32 add/multiply unit")
    lut_per_reg_bit: float = Field(ge=0, description="LUTs per bit of a fully partitioned array")
    lut_per_comparator: float = Field(ge=0, description="LUTs per compare-select slot")
    lut_base: float = Field(ge=0, description="LUTs of one unit's control, s_axilite and FIFOs")
    notes: dict[str, str] = Field(default_factory=dict, description="field -> source / reasoning")

    @model_validator(mode="after")
    def _capacity_names(self):
        allowed = {"LUT", "DSP", "BRAM_18K", "URAM", "FF"}
        bad = set(self.capacity) - allowed
        if bad:
            raise ValueError(f"capacity: unknown resources {sorted(bad, key=str)}; allowed: {sorted(allowed)}")
        return self


class FpgaSpec(Strict):
    """FPGA specifics: kernel clock, HBM port width and the kernel designs it hosts."""

    clock_hz: Hertz = Field(description="kernel clock in Hz")
    num_hbm_ports: int = Field(ge=1, description="HBM pseudo-channel ports available to kernels")
    port_bytes_per_cycle: PositiveBytes = Field(description="bytes per cycle per HBM port")
    channel_bandwidth_Bps: Bandwidth | None = Field(
        None, description="achievable B/s of one HBM pseudo-channel; a port streams at "
                          "min(port_bytes_per_cycle x clock_hz, this, memory.achievable_bandwidth_Bps / "
                          "num_hbm_ports). None: only the board's share limits a channel")
    invocation_overhead_s: Seconds = Field(description="host/XRT cost per kernel call in s")
    kernels: dict[str, FpgaKernelDesign] = Field(
        default_factory=dict, description="kernel name -> HLS design")
    power: FpgaPower | None = Field(
        None, description="dynamic power model; without it kernels draw power.active_w")
    resources: FpgaResourceModel | None = Field(
        None, description="fabric budget and per-op costs; enables the placement fit check")


class PowerSpec(Strict):
    """Board power: idle draw and draw while busy (overall and per kernel class)."""

    idle_w: Watts = Field(description="idle board power in W")
    active_w: Watts = Field(description="board power while all engines run in W")
    class_active_w: dict[str, Watts] = Field(
        default_factory=dict, description="per-kernel-class board power while busy in W")

    @model_validator(mode="after")
    def _active_ge_idle(self):
        if self.active_w < self.idle_w:
            raise ValueError("active_w must be >= idle_w")
        for cls, w in self.class_active_w.items():
            if cls not in KERNEL_CLASSES:
                raise ValueError(f"class_active_w: unknown kernel class {cls!r}; "
                                 f"allowed: {', '.join(KERNEL_CLASSES)}")
            if w < self.idle_w:
                raise ValueError(f"class_active_w.{cls} must be >= idle_w")
        return self


class GemmTile(Strict):
    """One output-tile shape a GEMM library can pick, with its fitted efficiency."""

    m: int = Field(ge=1, description="tile rows (tokens)")
    n: int = Field(ge=1, description="tile columns (output features)")
    efficiency: float = Field(gt=0, le=1, description="fraction of one unit's peak a block of this tile reaches")


class GemmTiles(Strict):
    """Tile/wave GEMM model parameters (see :mod:`hetsim.costs.gemm_tiles`), fitted per GPU."""

    compute_units: int = Field(ge=1, description="SMs / CUs a wave of tiles spreads over")
    tiles: tuple[GemmTile, ...] = Field(min_length=1)
    split_k: tuple[int, ...] = Field((1,), description="k splits the library may use")
    k_overhead: float = Field(ge=0, description="k-loop prologue/epilogue as extra k elements")
    overlap_exponent: float = Field(ge=1, le=50, description="smooth-max exponent of compute and memory time")
    memory_efficiency: float = Field(gt=0, le=1, description="fraction of achievable bandwidth")
    overhead_s: float = Field(ge=0, description="fixed time per GEMM call in s (launch and tail); provenance in source")
    wave_tail: float | None = Field(
        None, gt=0, le=1, description="a partial last wave with a fraction f of the units busy "
                                      "costs f**wave_tail of a full wave; none = a full wave")
    isolated_s: float = Field(
        0.0, ge=0, description="host time inside a call timed alone (events around one eager call: "
                         "the op's dispatch before its kernel starts), added only to measurements "
                         "marked timing=isolated; in a stream it hides behind earlier kernels")
    alias_stride_bytes: int | None = Field(
        None, ge=1, description="a GEMM whose k-contiguous rows (k x element bytes) are a multiple "
                                "of this many bytes computes at alias_efficiency of the tile rate "
                                "(power-of-two strides mapping onto few memory channels); none = never")
    alias_efficiency: float = Field(1.0, gt=0, le=1, description="see alias_stride_bytes")
    dtype: str = Field("bf16", description="datatype whose peak the fit used")
    source: str = Field(min_length=1, description="how and from which profiles this was fitted")


class DeviceSpec(Strict):
    """One device of a system."""

    name: str = Field(min_length=1, description="unique device name inside a system")
    kind: DeviceKind
    description: str = ""
    engines: tuple[EnginePool, ...] = Field((EnginePool(),), min_length=1,
                                            description="engine pools (at least one)")
    memory: MemorySpec
    peak_flop_per_s: dict[str, FlopRate] = Field(
        default_factory=dict, description="peak FLOP/s (or OP/s) per datatype")
    efficiency: dict[str, ClassEfficiency] = Field(
        default_factory=dict,
        description="roofline efficiency per kernel class ('default' applies to the others)")
    launch_overhead_s: Seconds = Field(0.0, description="per-kernel launch overhead in s")
    fpga: FpgaSpec | None = None
    power: PowerSpec
    cost_tables: tuple[str, ...] = Field(
        (), description="calibrated kernel tables (paths) that override the model")
    gemm_tiles: GemmTiles | None = Field(
        None, description="tile/wave GEMM model; replaces the roofline for GEMM-shaped kernels")
    gemm_tiles_by_dtype: dict[str, GemmTiles] = Field(
        default_factory=dict,
        description="a tile/wave fit for one datatype whose kernels differ from gemm_tiles' "
                    "(e.g. fp32 SIMT/FFMA GEMMs beside bf16 tensor-core ones); wins for that dtype")
    family: str | None = Field(
        None, description="GPU architecture family (cdna2, ampere, hopper): selects a stack's "
                          "per-family latency floors")
    stack: str | None = Field(
        None, description="GPU software stack (device_models/stacks/<name>.yaml): launches, "
                          "floors and intermediates per library call; none = one launch, roofline")

    @field_validator("efficiency")
    @classmethod
    def _known_classes(cls, v):
        for k in v:
            if k not in KERNEL_CLASSES and k != "default":
                raise ValueError(f"unknown kernel class {k!r}; allowed: default, "
                                 f"{', '.join(KERNEL_CLASSES)}")
        return v

    @model_validator(mode="after")
    def _pools_unique(self):
        names = [p.name for p in self.engines]
        if len(set(names)) != len(names):
            raise ValueError(f"engine pool names must be unique, got {names}")
        if self.kind == "fpga" and self.fpga is None and not self.peak_flop_per_s:
            raise ValueError("an fpga device needs an 'fpga' section or roofline peaks")
        ch = self.fpga.channel_bandwidth_Bps if self.fpga is not None else None
        if ch is not None and ch * self.fpga.num_hbm_ports > self.memory.peak_bandwidth_Bps * (1 + 1e-9):
            raise ValueError(f"fpga.channel_bandwidth_Bps x num_hbm_ports ({ch * self.fpga.num_hbm_ports:.4g} B/s) "
                             f"must not exceed memory.peak_bandwidth_Bps ({self.memory.peak_bandwidth_Bps:.4g})")
        return self

    @property
    def num_engines(self) -> int:
        """Total engine slots over all pools."""
        return sum(p.count for p in self.engines)
