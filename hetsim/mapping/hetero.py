"""``hetero``: the study's placement — relevancy and retrieval on the FPGA, the rest on the GPU.

Rules, in order:

1. Compute Relevancy and Retrieval tasks whose kernel the FPGA hosts (its device file lists a
   design for it, alone or fused with top-k) go to the FPGA; a scoring task and its top-k are
   then fused into one kernel where the FPGA has the fused design
   (:mod:`hetsim.mapping.fusion`).
2. Every memory structure those tasks work on lives in FPGA memory (the index cache), so the
   tasks that update it in place (Prepare Memory's index-key writes) run on the FPGA too, and
   the data they need crosses the link every step.
3. Data the workload asks to keep in FPGA memory (``graph.graph["fpga_resident"]``, e.g. the
   ``moe`` workload's expert shards with ``expert_placement: fpga``) goes round-robin over the
   system's FPGAs in device order, with every task working on it; each of those FPGAs must
   host the tasks' kernels (e.g. 256 experts in 2 shards over two U55Cs: 128 per card).
4. Everything else (dense projections, attention, GEMV-shaped relevancy work the FPGA does
   not host) stays on the GPU with its data.
"""

from __future__ import annotations

from ..errors import MappingError
from ..graph import Step, task_of
from .base import Mapping, first_of_kind
from .fusion import hosts as _hosts


def hetero(graph, system, params, **_) -> Mapping:
    """Split steps between ``params['gpu']`` and ``params['fpga']`` (defaults: first of each)."""
    gpu = first_of_kind(system, "gpu", params.get("gpu"))
    fpga = first_of_kind(system, "fpga", params.get("fpga"))
    tasks: dict[str, str] = {}
    fpga_data: set[str] = set()
    resident = _resident_homes(graph, system)
    for n in graph.nodes:
        t = task_of(graph, n)
        homes = {resident[d] for d in t.data if d in resident}
        if t.is_transfer or not homes:
            continue
        if len(homes) > 1:
            raise MappingError(f"hetero: task {n!r} works on data kept on several FPGAs: {sorted(homes)}")
        dev = system.device(homes.pop())
        if not _hosts(dev, t.kernel):
            raise MappingError(
                f"workload.params.expert_placement: fpga: task {n!r} (kernel {t.kernel!r}) works on "
                f"data placed on FPGA {dev.name!r}, which lists no design for {t.kernel!r} "
                f"(add one under fpga.kernels, e.g. design: study_moe)")
        tasks[n] = dev.name
    for n in graph.nodes:
        t = task_of(graph, n)
        if t.is_transfer or n in tasks:
            continue
        if t.step in (Step.COMPUTE_RELEVANCY, Step.RETRIEVAL) and _hosts(fpga, t.kernel):
            tasks[n] = fpga.name
            fpga_data.update(t.data)
    for n in graph.nodes:
        t = task_of(graph, n)
        if t.is_transfer or n in tasks:
            continue
        if fpga_data.intersection(t.data):
            if not _hosts(fpga, t.kernel) and not fpga.efficiency:
                raise MappingError(f"hetero: task {n!r} updates {sorted(fpga_data & set(t.data))} "
                                   f"in FPGA memory but {fpga.name!r} cannot run kernel {t.kernel!r}")
            tasks[n] = fpga.name
        else:
            tasks[n] = gpu.name
    data = graph.graph.get("data", {})
    placement = {d: resident.get(d) or (fpga.name if d in fpga_data else gpu.name) for d in data}
    return Mapping("hetero", tasks, placement)


def _resident_homes(graph, system) -> dict[str, str]:
    """Data the graph asks to keep in FPGA memory -> FPGA name, round-robin in device order."""
    wanted = graph.graph.get("fpga_resident", [])
    if not wanted:
        return {}
    fpgas = [d.name for d in system.devices if d.kind == "fpga"]
    if not fpgas:
        raise MappingError("workload.params.expert_placement: fpga needs an FPGA in the system; devices: "
                           + ", ".join(f"{d.name} ({d.kind})" for d in system.devices))
    return {d: fpgas[i % len(fpgas)] for i, d in enumerate(wanted)}
