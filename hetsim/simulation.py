"""One call from a validated scenario to a trace and its result: the data flow end to end.

scenario -> task graph (workload registry) -> mapping (policy registry) -> transfer tasks ->
engine -> trace -> result. The CLI and the tests both go through :func:`run_scenario`.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import networkx as nx

from .config.scenario import Scenario
from .costs import CostModel
from .costs.tables import load_tables
from .engine import simulate
from .errors import ConfigError, DtypeError, HetsimError, InputWarning, located
from .mapping.base import Mapping
from .mapping.fusion import fuse_pairs
from .mapping.registry import check_named_devices, check_params, map_graph, policies
from .mapping.serial import serialize
from .mapping.transfers import insert_transfers, names_data
from .metrics import summarize
from .trace import Trace
from .workloads.registry import build_workload, workload_params
from .workloads.sizing import check_size


@dataclass
class RunOutput:
    """Everything a run produced."""

    scenario: Scenario
    graph: nx.DiGraph
    mapping: Mapping
    trace: Trace
    result: dict


@contextmanager
def _at(file: str | None, field: str | None = None):
    """Make errors raised inside name *file* (and *field*) if they name no file yet."""
    try:
        yield
    except HetsimError as e:
        raise located(e, file, field) from None


def check_mapping_name(name: str, *, file: str | None = None, field: str = "mapping.policy") -> None:
    """Raise ConfigError when *name* is no mapping policy (*field* may be a flag: ``--mapping``).

    *name* may carry a GPU software stack, ``policy@stack``; the stack must exist too.
    """
    known = policies()
    if isinstance(name, str) and "@" in name:
        policy, _, stack = name.partition("@")
        if not policy.strip() or not stack.strip():
            raise ConfigError(f"{name!r} must be POLICY or POLICY@STACK with both parts named "
                              f"(e.g. gpu-only@tuned); policies: {', '.join(sorted(known))}",
                              file=file, field=field)
    name, stack = split_policy(name)
    if stack is not None:
        from .costs.stacks import stack_names

        if stack not in stack_names():
            raise ConfigError(f"unknown GPU software stack {stack!r} in {name}@{stack}; known: "
                              f"{', '.join(sorted(stack_names()))}", file=file, field=field)
    if name not in known:
        raise ConfigError(f"unknown mapping policy {name!r}; known: {', '.join(sorted(known))}",
                          file=file, field=field)


def warn_unused(params, file: str | None, prefix: str = "workload.params") -> None:
    """Warn (:class:`InputWarning`, one per knob) about parameters set to no effect here."""
    if not getattr(type(params), "applies_when", None):
        return  # declares no rules (dsa_decode, custom): the knobs module is not even imported
    import warnings

    from .workloads.knobs import unused_params

    for knob, why in unused_params(params).items():
        warnings.warn(InputWarning(f"has no effect here: {why}", file=file, field=f"{prefix}.{knob}"),
                      stacklevel=2)


def check_scenario(scenario: Scenario, *, file: str | None = None, mappings=(),
                   mappings_flag: str = "--mappings") -> None:
    """Validate workload, mapping names and params and the size guard, without building.

    Fails fast, before any progress output: the workload parameters, the scenario's mapping
    policy and its params (``mapping.*`` of *file*), the extra *mappings* (named by
    *mappings_flag*, not by the file they are not in), and the workload's estimated size
    against the system's memories and ``run.max_tasks``.
    """
    wl, p = workload_params(scenario.workload.name, scenario.workload.params, file=file)
    warn_unused(p, file)
    check_dtypes(p, scenario, file)
    from .costs.stacks import stack_names

    for i, dev in enumerate(scenario.system.devices):  # else found only when a task is priced
        if dev.stack is not None and dev.stack not in stack_names():
            raise ConfigError(f"device {dev.name!r}: unknown GPU software stack {dev.stack!r}; known: "
                              f"{', '.join(stack_names())}", file=file, field=f"system.devices.{i}.stack")
    check_mapping_name(scenario.mapping.policy, file=file)
    check_params(scenario.mapping.policy, scenario.mapping.params, file=file)
    check_named_devices(scenario.mapping.policy, scenario.system, scenario.mapping.params, file=file)
    for m in mappings:
        check_mapping_name(m, field=mappings_flag)
    if wl.estimate is not None:
        with _at(file, "workload.params"):
            tasks, data = wl.estimate(p)
        # a run that will be fast-forwarded simulates windows of a few blocks, not every task:
        # only its memory is checked here (each window is built under the task budget)
        from .fastforward import FF_POLICIES

        ff = (wl.repeats is not None and scenario.run.fast_forward != "off"
              and scenario.mapping.policy in FF_POLICIES)
        check_size(tasks, data, scenario.system, None if ff else scenario.run.max_tasks, file=file)


def executable(graph: nx.DiGraph, scenario: Scenario, m: Mapping) -> tuple[nx.DiGraph, Mapping]:
    """Fuse, insert transfers (minus the run's free ones) and serialise if the run asks to."""
    data = graph.graph.get("data", {})
    for i, entry in enumerate(scenario.run.free_transfers):
        # a misspelt name freed nothing, silently (a sharded item's family name is fine)
        if "->" not in entry and not any(names_data(entry, d) for d in data):
            raise ConfigError(f"{entry!r} is no resident data of the workload and no edge pattern; give "
                              f"one of {', '.join(sorted(data)) or '(none)'} or 'producer->consumer'",
                              field=f"run.free_transfers.{i}")
    fused, m = fuse_pairs(graph, scenario.system, m)
    # fusion made a private copy when it merged anything: transfers may then go in in place
    g = insert_transfers(fused, m, free=scenario.run.free_transfers, copy=fused is graph)
    if scenario.run.serialize:
        g = serialize(g)
    return g, m


def evaluator(graph: nx.DiGraph, scenario: Scenario, costs: CostModel, queue_policy: str):
    """Return Mapping -> result: one full simulation of *graph* under that mapping."""

    def evaluate(m: Mapping) -> dict:
        g, m = executable(graph, scenario, m)
        trace = simulate(g, scenario.system, m, costs,
                         queue_policy=queue_policy, power_off_unused=scenario.run.power_off_unused,
                         engine=scenario.run.engine)
        return summarize(trace)

    return evaluate


def split_policy(spec: str | None) -> tuple[str | None, str | None]:
    """``'gpu-only@tuned'`` -> ``('gpu-only', 'tuned')``; ``'hetero'`` -> ``('hetero', None)``."""
    if spec is None or "@" not in spec:
        return spec, None
    policy, _, stack = spec.partition("@")
    return policy or None, stack or None


def _dtype_fields(params) -> list[tuple[str, str]]:
    """``(field, dtype)`` of every datatype the workload parameters set (*params* validated,
    or the scenario file's raw mapping)."""
    def get(o, key):
        return o.get(key) if isinstance(o, dict) else getattr(o, key, None)

    out = []
    if isinstance(get(params, "dtype"), str):
        out.append(("workload.params.dtype", get(params, "dtype")))
    for i, t in enumerate(get(params, "tasks") or ()):  # the custom workload's listing
        if isinstance(get(t, "dtype"), str):
            out.append((f"workload.params.tasks.{i}.dtype", get(t, "dtype")))
    return out


def check_dtypes(params, scenario: Scenario, file: str | None) -> None:
    """Refuse a datatype no device of the system has a compute peak for (``fp7``).

    Why: it was found only when the first task was priced, and the error named ``mapping``
    rather than the field that holds the datatype. A system whose devices list no peaks (FPGAs
    priced by their cycle models) is not checked.
    """
    known = sorted({k for d in scenario.system.devices for k in d.peak_flop_per_s})
    if not known:
        return
    for field, dtype in _dtype_fields(params):
        if dtype not in known:
            raise ConfigError(f"unknown dtype {dtype!r}: no device of the system has a "
                              f"peak_flop_per_s for it; allowed: {', '.join(known)}",
                              file=file, field=field)


@contextmanager
def _dtype_at(scenario: Scenario, file: str | None):
    """A task's datatype missing on the device it runs on names the field that set it."""
    try:
        yield
    except DtypeError as e:
        fields = [f for f, d in _dtype_fields(scenario.workload.params) if d == e.dtype]
        tasks = [f for f in fields if ".tasks." in f]  # a task's own dtype is the one it ran with
        fields = tasks[:1] or fields[:1]
        if not fields or (e.file and e.file != file):
            raise
        raise DtypeError(e.detail, dtype=e.dtype, file=file, field=fields[-1]) from None


def with_stack(scenario: Scenario, stack: str | None) -> Scenario:
    """*scenario* with every GPU running software stack *stack* (None: unchanged)."""
    if stack is None:
        return scenario
    from .costs.stacks import load_stack

    load_stack(stack)  # unknown names fail here, naming the known ones
    devs = tuple(d.model_copy(update={"stack": stack}) if d.kind == "gpu" else d
                 for d in scenario.system.devices)
    system = scenario.system.model_copy(update={"devices": devs})
    return scenario.model_copy(update={"system": system})


def gpu_stacks(scenario: Scenario) -> dict[str, str]:
    """GPU device name -> software stack (GPUs without one are left out)."""
    return {d.name: d.stack for d in scenario.system.devices if d.kind == "gpu" and d.stack}


def _build(scenario: Scenario, file: str | None) -> nx.DiGraph:
    """The scenario's task graph, behind the size guard; errors name *file*."""
    field = "workload.params" if scenario.workload.name != "custom" else "workload.params.tasks"
    with _at(file, field):
        return build_workload(scenario.workload.name, scenario.workload.params, file=file,
                              system=scenario.system, max_tasks=scenario.run.max_tasks)


def check_finite(result: dict) -> None:
    """Refuse a result whose makespan or energy overflowed (ConfigError, never ``Infinity``).

    Why: every input time has a ceiling, but a calibrated table's fit can still give a huge
    finite time per call; summed over the tasks it overflowed to ``inf``, which result.json
    wrote as ``Infinity`` (not JSON) with exit 0.
    """
    import math

    for key in ("makespan_s", "energy_j"):
        v = result.get(key)
        if isinstance(v, float) and not math.isfinite(v):
            raise ConfigError(f"the run's {key} is {v}: a time, power or table fit of the devices is "
                              "too large to simulate (each per-call time is at most an hour)",
                              field="system.devices")


def run_graph(graph: nx.DiGraph, scenario: Scenario, policy: str, params: dict, costs: CostModel,
              queue_policy: str) -> RunOutput:
    """Map, fuse, add transfers to (and serialise, if asked) and simulate one built graph."""
    m = map_graph(policy, graph, scenario.system, params,
                  evaluate=evaluator(graph, scenario, costs, queue_policy))
    g, m = executable(graph, scenario, m)
    trace = simulate(g, scenario.system, m, costs, queue_policy=queue_policy,
                     power_off_unused=scenario.run.power_off_unused, engine=scenario.run.engine)
    result = summarize(trace)
    check_finite(result)
    result["engine"] = trace.meta["engine"]
    if "free_transfers" in g.graph:
        result["free_transfers"] = g.graph["free_transfers"]
    if scenario.run.serialize:
        result["serialized"] = True
    result["scenario"] = scenario.name
    result["workload"] = {"name": scenario.workload.name, "graph": graph.graph.get("name", "")}
    stacks = gpu_stacks(scenario)
    if stacks:
        result["gpu_stacks"] = stacks
    return RunOutput(scenario, g, m, trace, result)


def run_scenario(scenario: Scenario, *, mapping: str | None = None, file: str | None = None,
                 queue_policy: str | None = None, mapping_params: dict | None = None,
                 mapping_flag: str = "--mapping", costs: CostModel | None = None,
                 graph: nx.DiGraph | None = None, fast_forward: str | None = None) -> RunOutput:
    """Simulate *scenario*, optionally with another mapping policy or queue policy.

    *mapping_flag* names where *mapping* came from (``--mapping``) in errors. Every error
    names *file* (or that flag). *costs* and *graph* let a caller running many mappings of one
    scenario (a sweep worker) share one cost model and its cache, and the workload graph built
    once (the caller guarantees *graph* is this scenario's workload; it is not modified). By
    default each run prices its tasks and builds its graph afresh.

    *mapping* may name a GPU software stack as ``policy@stack`` (e.g. ``gpu-only@tuned``).

    *fast_forward* (default: the scenario's ``run.fast_forward``) is ``off``, ``on`` or
    ``auto``; see :mod:`hetsim.fastforward`. A fast-forwarded run's result has a
    ``fast_forward`` entry, and its graph and trace are those of the first simulated window.
    A caller-built *graph* is always simulated in full.
    """
    from .fastforward import fast_forward as ff_run
    from .fastforward import should_fast_forward

    if mapping:
        check_mapping_name(mapping, field=mapping_flag)
    mapping, stack = split_policy(mapping)
    with _at(file, mapping_flag if stack else None):
        scenario = with_stack(scenario, stack)
    policy = mapping or scenario.mapping.policy
    params = scenario.mapping.params if policy == scenario.mapping.policy else {}
    if mapping_params:
        params = {**params, **mapping_params}
    if costs is None:
        with _at(file, "system.devices"):
            costs = CostModel(load_tables(scenario.system))
    qp = queue_policy or scenario.run.queue_policy
    mode = fast_forward or scenario.run.fast_forward
    with _at(file, "mapping" if policy == scenario.mapping.policy else mapping_flag), _dtype_at(scenario, file):
        if graph is None and should_fast_forward(scenario, policy, mode, file=file):
            out = ff_run(scenario, lambda s, p: run_graph(build_workload(s.workload.name, p, file=file),
                                                          s, policy, params, costs, qp), file=file)
            if out is not None:
                return out
    if graph is None:
        graph = _build(scenario, file)
    with _at(file, "mapping" if policy == scenario.mapping.policy else mapping_flag), _dtype_at(scenario, file):
        return run_graph(graph, scenario, policy, params, costs, qp)


def search_scenario(scenario: Scenario, objective: str, *, file: str | None = None,
                    granularity: str = "auto", exhaustive_limit: int = 512,
                    max_evaluations: int = 2000, compare_policies=("gpu-only", "hetero", "fpga-max", "heft"),
                    progress=None):
    """Search the best mappings of *scenario*; also evaluate named policies for reference.

    Returns ``(SearchResult, {policy: result})``; a policy that cannot map this system is left out.
    """
    from .mapping.search import search

    graph = _build(scenario, file)
    with _at(file, "system.devices"):
        costs = CostModel(load_tables(scenario.system))
    evaluate = evaluator(graph, scenario, costs, scenario.run.queue_policy)
    with _at(file, "system"):
        res = search(graph, scenario.system, objective, evaluate, costs=costs, granularity=granularity,
                     exhaustive_limit=exhaustive_limit, max_evaluations=max_evaluations,
                     progress=progress)
    named = {}
    for name in compare_policies:
        try:
            named[name] = evaluate(map_graph(name, graph, scenario.system, {}))
        except HetsimError:
            continue
    return res, named
