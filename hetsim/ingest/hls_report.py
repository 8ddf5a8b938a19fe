"""Parser of Vitis HLS synthesis reports (``csynth.xml``) and a U55C resource check.

Why: a csynth report is the first real number a user with the tools gets for a kernel
(latency in cycles, II, achievable clock, resources). hetsim reads it to recalibrate the
FPGA cost table. Reports often hold ``undef`` latencies (unknown loop bounds) and
``<range><min>..</min><max>..</max></range>`` values (data-dependent trip counts), so these are
first-class values (:class:`CycleCount`), never silently turned into 0.

Element map: ``shared/reference/hardware.md`` §7.1. Real reports from Vivado HLS 2018.2 to Vitis
HLS 2024.1 are read (tests/hls/data, provenance in its README); what changed between versions and
is handled here: ``<DSP48E>`` for ``<DSP>`` (Vivado HLS), no ``<URAM>`` on 7-series parts,
``EstimatedClockPeriod`` 0.000 for a combinational top (2018.2, 2023.1: no estimate), loops without
``<PipelineType>`` (pipelined when they state a ``<PipelineII>``, 2020.x top-level summaries),
``<range>`` elements (2020.x, 2022.1) and ``a ~ b`` text (2022.x) for ranges, ``undef``
everywhere, ``PipelineType`` ``none`` (2020.x) or ``no`` (2022+), indented or flat XML. Times are
converted to seconds, frequencies to Hz.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from hetsim.errors import ConfigError
from hetsim.inputs import read_text, read_xml

RESOURCE_NAMES = ("BRAM_18K", "DSP", "FF", "LUT", "URAM")
RESOURCE_ALIASES = {"DSP": ("DSP48E", "DSP48E2", "DSP48E1", "DSP48")}
"""Older spellings of a resource: Vivado HLS (2018.2, 2019.2, and the Vivado HLS of 2020.1) writes
the DSP count as ``<DSP48E>`` (tests/hls/data/csynth_hls4ml_2019_2_u50.xml); Vitis HLS writes
``<DSP>``."""

U55C_CAPACITY: dict[str, int] = {
    "LUT": 1_303_680,
    "FF": 2_607_360,
    "DSP": 9_024,
    "BRAM_18K": 4_032,
    "URAM": 960,
}
"""Alveo U55C (xcu55c-fsvh2892-2L-e) device totals, as Vitis HLS reports them in
``AvailableResources`` (shared/reference/hardware.md §4.1, source S27: the Vitis HLS 2023.2
report in hls-report-example/). The shell takes part of these; kernels get less."""

_UNIT_S = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "ps": 1e-12}


@dataclass(frozen=True)
class CycleCount:
    """A cycle count as a report states it: exact (min == max), a range, or undefined.

    Attributes
    ----------
    min, max : int or None
        Bounds in cycles; both None means ``undef`` (the tool could not bound it).
    """

    min: int | None
    max: int | None

    @property
    def is_undef(self) -> bool:
        """True when the report says ``undef``."""
        return self.min is None and self.max is None

    @property
    def is_exact(self) -> bool:
        """True when the value is a single known number."""
        return self.min is not None and self.min == self.max

    @property
    def value(self) -> int:
        """The exact value; raises ValueError for a range or ``undef`` (ask for min/max then)."""
        if not self.is_exact:
            raise ValueError(f"cycle count is not exact: {self}")
        return int(self.min)  # type: ignore[arg-type]

    def __str__(self) -> str:
        if self.is_undef:
            return "undef"
        if self.is_exact:
            return str(self.min)
        return f"{self.min}..{self.max}"


UNDEF = CycleCount(None, None)


@dataclass(frozen=True)
class LoopReport:
    """One loop of one module (``SummaryOfLoopLatency``)."""

    module: str
    name: str
    trip_count: CycleCount
    latency: CycleCount
    iteration_latency: CycleCount
    pipeline_ii: CycleCount
    pipeline_depth: CycleCount
    pipelined: bool


@dataclass(frozen=True)
class HlsReport:
    """The numbers hetsim uses from a ``csynth.xml``.

    Attributes
    ----------
    file : str
        Path the report was read from.
    tool_version, part, product_family, top, flow_target : str
        ``ReportVersion/Version`` and ``UserAssignments/*``.
    target_clock_period_s, clock_uncertainty_s : float
        Requested clock period and uncertainty (s).
    estimated_clock_period_s : float or None
        Post-synthesis estimate (s); None if the report has none or writes 0.000 (a
        combinational top, e.g. the 2018.2 report in tests/hls/data).
    latency_best, latency_avg, latency_worst : CycleCount
        Top-level latency in cycles.
    interval_min, interval_max : CycleCount
        Top-level initiation interval (cycles between starts).
    dataflow_throughput : CycleCount or None
        ``DataflowPipelineThroughput`` for dataflow tops.
    pipeline_type : str or None
        ``no``, ``yes`` or ``dataflow``.
    resources, available : dict[str, int]
        Used and available BRAM_18K, DSP, FF, LUT, URAM.
    loops : list[LoopReport]
        Every loop of every module.
    """

    file: str
    tool_version: str
    part: str
    product_family: str
    top: str
    flow_target: str
    target_clock_period_s: float
    clock_uncertainty_s: float
    estimated_clock_period_s: float | None
    latency_best: CycleCount
    latency_avg: CycleCount
    latency_worst: CycleCount
    interval_min: CycleCount
    interval_max: CycleCount
    dataflow_throughput: CycleCount | None
    pipeline_type: str | None
    resources: dict[str, int]
    available: dict[str, int]
    loops: list[LoopReport] = field(default_factory=list)
    top_loops: list[LoopReport] = field(default_factory=list)
    module_resources: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def target_clock_hz(self) -> float:
        """Requested kernel clock (Hz)."""
        return 1.0 / self.target_clock_period_s

    @property
    def f_max_hz(self) -> float | None:
        """Estimated maximum clock, 1 / estimated period (Hz); None without an estimate."""
        return None if not self.estimated_clock_period_s else 1.0 / self.estimated_clock_period_s

    def utilization(self) -> dict[str, float]:
        """Used / available per resource (using the report's own AvailableResources)."""
        return {k: self.resources[k] / self.available[k] for k in RESOURCE_NAMES
                if k in self.resources and self.available.get(k)}


def _cycles(elem: ET.Element | None, file: str, where: str) -> CycleCount:
    """Parse a cycle value: an integer, ``undef``, or a ``<range><min/><max/></range>``."""
    if elem is None:
        raise ConfigError("element missing", file=file, field=where)
    rng = elem.find("range")
    if rng is not None:
        lo = _cycles(rng.find("min"), file, where + "/range/min")
        hi = _cycles(rng.find("max"), file, where + "/range/max")
        return CycleCount(lo.min, hi.max)
    text = (elem.text or "").strip()
    if text.lower() in ("undef", "", "-"):
        return UNDEF
    if "~" in text:  # Vitis HLS 2022.x writes module/loop ranges as text: "1 ~ 99"
        parts = [t.strip() for t in text.split("~")]
        if len(parts) != 2:
            raise ConfigError(f"expected a range 'a ~ b', got {text!r}", file=file, field=where)
        lo = _cycles(ET.fromstring(f"<v>{parts[0]}</v>"), file, where)
        hi = _cycles(ET.fromstring(f"<v>{parts[1]}</v>"), file, where)
        return CycleCount(lo.min, hi.max)
    try:
        v = float(text)
    except ValueError:
        raise ConfigError(f"expected a cycle count or 'undef', got {text!r}", file=file, field=where) from None
    n = _whole(v, text, file, where, "a non-negative integer cycle count")
    return CycleCount(n, n)


def _whole(v: float, text: str, file: str, where: str, what: str) -> int:
    """*v* (read from *text*) as a non-negative integer; nan, inf and fractions are refused."""
    if not math.isfinite(v) or v < 0 or v != int(v):
        raise ConfigError(f"expected {what}, got {text!r}", file=file, field=where)
    return int(v)


def _text(root: ET.Element, path: str, file: str, required: bool = True) -> str | None:
    e = root.find(path)
    if e is None or e.text is None or not e.text.strip():
        if required:
            raise ConfigError("element missing or empty", file=file, field="/profile/" + path)
        return None
    return e.text.strip()


def _float(root: ET.Element, path: str, file: str, required: bool = True) -> float | None:
    t = _text(root, path, file, required)
    if t is None:
        return None
    try:
        v = float(t)
    except ValueError:
        raise ConfigError(f"expected a number, got {t!r}", file=file, field="/profile/" + path) from None
    if not math.isfinite(v):
        raise ConfigError(f"expected a finite number, got {t!r}", file=file, field="/profile/" + path)
    return v


def _period_s(root: ET.Element, path: str, unit: str, file: str, required: bool = True) -> float | None:
    v = _float(root, path, file, required)
    if v is None:
        return None
    if unit not in _UNIT_S:
        raise ConfigError(f"unknown time unit {unit!r}", file=file, field="/profile/" + path)
    if v == 0 and path.endswith("EstimatedClockPeriod"):
        return None  # Vivado HLS writes 0.000 for a design without a register-to-register path
    if v <= 0 and path.endswith("Period"):
        raise ConfigError(f"clock period must be > 0, got {v}", file=file, field="/profile/" + path)
    return v * _UNIT_S[unit]


def parse_real_time(text: str | None) -> float | None:
    """Convert a report time such as ``0.825 us`` to seconds (None for ``undef``/missing)."""
    if text is None:
        return None
    m = re.fullmatch(r"\s*([0-9.eE+-]+)\s*(s|ms|us|ns|ps)\s*", text)
    return float(m.group(1)) * _UNIT_S[m.group(2)] if m else None


def _resources(root: ET.Element, path: str, file: str) -> dict[str, int]:
    block = root.find(path)
    if block is None:
        raise ConfigError("element missing", file=file, field="/profile/" + path)
    out: dict[str, int] = {}
    for name in RESOURCE_NAMES:
        tag = next((a for a in (name, *RESOURCE_ALIASES.get(name, ())) if block.find(a) is not None), name)
        t = block.findtext(tag)
        if t is None:
            continue
        where = f"/profile/{path}/{tag}"
        try:
            v = float(t.strip())
        except ValueError:
            raise ConfigError(f"expected an integer, got {t!r}", file=file, field=where) from None
        out[name] = _whole(v, t, file, where, "a non-negative integer")
    return out


_LOOP_FIELDS = {"Name", "TripCount", "Latency", "AbsoluteTimeLatency", "IterationLatency", "PipelineII",
                "PipelineDepth", "PipelineType", "InstanceList"}


def _loop_tree(summary: ET.Element, module: str, file: str, prefix: str = "") -> list[LoopReport]:
    """Loops of a ``SummaryOfLoopLatency`` block, nested loops included (named outer/inner)."""
    out: list[LoopReport] = []
    for lp in summary:
        if lp.tag in _LOOP_FIELDS or len(lp) == 0:  # a field (Slack, ...), not a loop: loops have children
            continue
        where = f"/profile/.../SummaryOfLoopLatency/{prefix}{lp.tag}"

        def opt(tag: str) -> CycleCount:
            e = lp.find(tag)
            return UNDEF if e is None else _cycles(e, file, f"{where}/{tag}")

        name = prefix + (lp.findtext("Name") or lp.tag).strip()
        ii = opt("PipelineII")
        ptype = lp.findtext("PipelineType")
        # 2020.x top-level loop summaries give no PipelineType: a loop with an II is pipelined
        pipelined = ptype.strip().lower() == "yes" if ptype is not None else ii.is_exact
        out.append(LoopReport(module=module, name=name, trip_count=opt("TripCount"), latency=opt("Latency"),
                              iteration_latency=opt("IterationLatency"), pipeline_ii=ii,
                              pipeline_depth=opt("PipelineDepth"), pipelined=pipelined))
        out.extend(_loop_tree(lp, module, file, name + "/"))
    return out


def _module_resources(root: ET.Element, file: str) -> dict[str, dict[str, int]]:
    """Resources of every module (``ModuleInformation/Module/AreaEstimates/Resources``)."""
    out: dict[str, dict[str, int]] = {}
    for mod in root.findall("ModuleInformation/Module"):
        name = (mod.findtext("Name") or "").strip()
        block = mod.find("AreaEstimates/Resources")
        if not name or block is None:
            continue
        res = {}
        for key in RESOURCE_NAMES:
            tag = next((a for a in (key, *RESOURCE_ALIASES.get(key, ())) if block.find(a) is not None), key)
            t = block.findtext(tag)
            if t is not None and t.strip() not in ("", "-"):
                where = f"/profile/ModuleInformation/Module[{name}]/AreaEstimates/{tag}"
                try:
                    v = float(t.strip())
                except ValueError:
                    raise ConfigError(f"expected an integer, got {t!r}", file=file, field=where) from None
                res[key] = _whole(v, t, file, where, "a non-negative integer")
        out[name] = res
    return out


def _loops(root: ET.Element, file: str) -> list[LoopReport]:
    loops: list[LoopReport] = []
    for mod in root.findall("ModuleInformation/Module"):
        summary = mod.find("PerformanceEstimates/SummaryOfLoopLatency")
        if summary is not None:
            loops.extend(_loop_tree(summary, (mod.findtext("Name") or "").strip(), file))
    return loops


REPORT_IN_DIR = (Path("syn/report/csynth.xml"), Path("hls/syn/report/csynth.xml"))
"""Where a directory holds its top report: a solution (``solution1/syn/report``, Vivado HLS and
Vitis HLS up to 2023.1) or a Vitis Unified component (``<component>/hls/syn/report``)."""


def report_path(path: str | Path) -> Path:
    """*path* itself, or for a solution/component directory the csynth.xml inside it."""
    p = Path(path)
    if not p.is_dir():
        return p
    for rel in REPORT_IN_DIR:
        if (p / rel).is_file():
            return p / rel
    raise ConfigError(f"a directory without a synthesis report: looked for {' and '.join(map(str, REPORT_IN_DIR))}"
                      " (a solution or an HLS component directory, after C synthesis)", file=str(p))


def parse_csynth(path: str | Path) -> HlsReport:
    """Read a Vitis HLS ``csynth.xml``.

    Parameters
    ----------
    path : str or Path
        The report (``<solution>/syn/report/csynth.xml``), or the directory of a Vitis HLS
        solution (``<project>/solution1``) or of a Vitis Unified (2023.2+) HLS component
        (``<component>``, whose report is ``<component>/hls/syn/report/csynth.xml``).

    Returns
    -------
    HlsReport

    Raises
    ------
    ConfigError
        The file is missing, not XML, not a ``<profile>`` report, or a required field is absent
        or malformed (the error names the file and the XPath of the field); the text twin
        ``csynth.rpt`` is refused naming the XML to pass.
    """
    file = str(report_path(path))
    try:
        root = read_xml(file)
    except ConfigError as e:
        head = read_text(file)[:2000] if "XML" in e.detail else ""
        if "Synthesis Summary Report" in head or "Vitis HLS Report" in head or "Vivado HLS Report" in head:
            raise ConfigError("this is the text report (csynth.rpt); pass the csynth.xml beside it "
                              "(<solution>/syn/report/csynth.xml)", file=file) from None
        if head.startswith("Profile Summary"):
            raise ConfigError("this is an XRT profile summary, not a synthesis report; pass a csynth.xml "
                              "here (timed runs go to --from-xrt-csv)", file=file) from None
        raise
    if root.tag != "profile":
        raise ConfigError(f"root element is <{root.tag}>, expected <profile> (a Vitis HLS csynth.xml)", file=file)
    unit = (root.findtext("UserAssignments/unit") or "ns").strip()
    t_unit = (root.findtext("PerformanceEstimates/SummaryOfTimingAnalysis/unit") or unit).strip()
    lat = "PerformanceEstimates/SummaryOfOverallLatency"
    thr = root.find(f"{lat}/DataflowPipelineThroughput")
    return HlsReport(
        file=file,
        tool_version=_text(root, "ReportVersion/Version", file) or "",
        part=_text(root, "UserAssignments/Part", file) or "",
        product_family=_text(root, "UserAssignments/ProductFamily", file, required=False) or "",
        top=_text(root, "UserAssignments/TopModelName", file) or "",
        flow_target=_text(root, "UserAssignments/FlowTarget", file, required=False) or "",
        target_clock_period_s=_period_s(root, "UserAssignments/TargetClockPeriod", unit, file),  # type: ignore[arg-type]
        clock_uncertainty_s=_period_s(root, "UserAssignments/ClockUncertainty", unit, file, required=False) or 0.0,
        estimated_clock_period_s=_period_s(
            root, "PerformanceEstimates/SummaryOfTimingAnalysis/EstimatedClockPeriod", t_unit, file, required=False),
        latency_best=_cycles(root.find(f"{lat}/Best-caseLatency"), file, f"/profile/{lat}/Best-caseLatency"),
        latency_avg=_cycles(root.find(f"{lat}/Average-caseLatency"), file, f"/profile/{lat}/Average-caseLatency"),
        latency_worst=_cycles(root.find(f"{lat}/Worst-caseLatency"), file, f"/profile/{lat}/Worst-caseLatency"),
        interval_min=_cycles(root.find(f"{lat}/Interval-min"), file, f"/profile/{lat}/Interval-min"),
        interval_max=_cycles(root.find(f"{lat}/Interval-max"), file, f"/profile/{lat}/Interval-max"),
        dataflow_throughput=None if thr is None else _cycles(thr, file, f"/profile/{lat}/DataflowPipelineThroughput"),
        pipeline_type=_text(root, "PerformanceEstimates/PipelineType", file, required=False),
        resources=_resources(root, "AreaEstimates/Resources", file),
        available=_resources(root, "AreaEstimates/AvailableResources", file),
        loops=_loops(root, file),
        top_loops=_top_loops(root, file),
        module_resources=_module_resources(root, file),
    )


def _top_loops(root: ET.Element, file: str) -> list[LoopReport]:
    summary = root.find("PerformanceEstimates/SummaryOfLoopLatency")
    top = (root.findtext("UserAssignments/TopModelName") or "").strip()
    return [] if summary is None else _loop_tree(summary, top, file)


def part_family(part: str) -> str:
    """The device of a part name, without package/speed grade: ``xcu55c-fsvh2892-2L-e`` -> ``xcu55c``."""
    return part.strip().lower().split("-")[0]


def check_part(report: HlsReport, device_part: str, device: str = "") -> None:
    """Refuse a report synthesised for another FPGA than the target device's (naming both)."""
    if part_family(report.part) != part_family(device_part):
        raise ConfigError(f"report is for part {report.part} but device {device or ''} is part {device_part}; "
                          "synthesise for the target part (set_part) or pick the matching device".replace("  ", " "),
                          file=report.file, field="/profile/UserAssignments/Part")


def check_resources(report: HlsReport, capacity: Mapping[str, int] = U55C_CAPACITY) -> list[str]:
    """Check a report's resource totals against a device's capacity.

    Parameters
    ----------
    report : HlsReport
    capacity : Mapping[str, int]
        Device totals; the U55C by default.

    Returns
    -------
    list[str]
        One message per problem (empty when the design fits): a resource over capacity, a
        resource the report does not state, or a report whose AvailableResources disagree with
        the capacity (synthesized for another part).
    """
    errors: list[str] = []
    for name, cap in capacity.items():
        used = report.resources.get(name)
        if used is None:
            errors.append(f"{report.file}: resource {name} not reported")
            continue
        if used > cap:
            errors.append(f"{report.file}: {name} {used} exceeds the capacity {cap} ({used / cap:.1%})")
        avail = report.available.get(name)
        if avail is not None and avail != cap:
            errors.append(f"{report.file}: report says {avail} {name} available, the device has {cap}"
                          f" (part {report.part})")
    return errors
