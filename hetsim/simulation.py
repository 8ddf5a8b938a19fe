"""One call from a validated scenario to a trace and its result: the data flow end to end.

scenario -> task graph (workload registry) -> mapping (policy registry) -> transfer tasks ->
engine -> trace -> result. The CLI and the tests both go through :func:`run_scenario`.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from .config.scenario import Scenario
from .costs import CostModel
from .costs.tables import load_tables
from .engine import simulate
from .mapping.base import Mapping
from .mapping.fusion import fuse_pairs
from .mapping.registry import map_graph
from .mapping.transfers import insert_transfers
from .metrics import summarize
from .trace import Trace
from .workloads.registry import build_workload


@dataclass
class RunOutput:
    """Everything a run produced."""

    scenario: Scenario
    graph: nx.DiGraph
    mapping: Mapping
    trace: Trace
    result: dict


def check_scenario(scenario: Scenario, *, file: str | None = None, mappings=()) -> None:
    """Validate the workload parameters and mapping names without simulating (fail fast)."""
    from .errors import ConfigError
    from .loader import validate
    from .mapping.registry import policies
    from .workloads.registry import workloads

    reg = workloads()
    if scenario.workload.name not in reg:
        raise ConfigError(f"unknown workload {scenario.workload.name!r}; known: {', '.join(sorted(reg))}",
                          file=file, field="workload.name")
    validate(reg[scenario.workload.name].params, scenario.workload.params, file=file,
             prefix="workload.params")
    known = policies()
    for m in (scenario.mapping.policy, *mappings):
        if m not in known:
            raise ConfigError(f"unknown mapping policy {m!r}; known: {', '.join(sorted(known))}",
                              file=file, field="mapping.policy")


def evaluator(graph: nx.DiGraph, scenario: Scenario, costs: CostModel, queue_policy: str):
    """Return Mapping -> result: one full simulation of *graph* under that mapping."""

    def evaluate(m: Mapping) -> dict:
        g, m = fuse_pairs(graph, scenario.system, m)
        trace = simulate(insert_transfers(g, m, copy=g is graph), scenario.system, m, costs,
                         queue_policy=queue_policy, power_off_unused=scenario.run.power_off_unused,
                         engine=scenario.run.engine)
        return summarize(trace)

    return evaluate


def run_graph(graph: nx.DiGraph, scenario: Scenario, policy: str, params: dict, costs: CostModel,
              queue_policy: str) -> RunOutput:
    """Map, fuse, add transfers to and simulate one built graph of *scenario*."""
    m = map_graph(policy, graph, scenario.system, params,
                  evaluate=evaluator(graph, scenario, costs, queue_policy))
    fused, m = fuse_pairs(graph, scenario.system, m)
    # fusion made a private copy when it merged anything: transfers may then go in in place
    g = insert_transfers(fused, m, copy=fused is graph)
    trace = simulate(g, scenario.system, m, costs, queue_policy=queue_policy,
                     power_off_unused=scenario.run.power_off_unused, engine=scenario.run.engine)
    result = summarize(trace)
    result["engine"] = trace.meta["engine"]
    result["scenario"] = scenario.name
    result["workload"] = {"name": scenario.workload.name, "graph": graph.graph.get("name", "")}
    return RunOutput(scenario, g, m, trace, result)


def run_scenario(scenario: Scenario, *, mapping: str | None = None, file: str | None = None,
                 queue_policy: str | None = None, mapping_params: dict | None = None,
                 costs: CostModel | None = None, graph: nx.DiGraph | None = None,
                 fast_forward: str | None = None) -> RunOutput:
    """Simulate *scenario*, optionally with another mapping policy or queue policy.

    *costs* and *graph* let a caller running many mappings of one scenario share one cost
    model and its cache, and the workload graph built once (it is not modified). By default
    each run prices its tasks and builds its graph afresh.

    *fast_forward* (default: the scenario's ``run.fast_forward``) is ``off``, ``on`` or
    ``auto``; see :mod:`hetsim.fastforward`. A fast-forwarded run's result has a
    ``fast_forward`` entry, and its graph and trace are those of the first simulated window.
    A caller-built *graph* is always simulated in full.
    """
    from .fastforward import fast_forward as ff_run
    from .fastforward import should_fast_forward

    policy = mapping or scenario.mapping.policy
    params = scenario.mapping.params if policy == scenario.mapping.policy else {}
    if mapping_params:
        params = {**params, **mapping_params}
    if costs is None:
        costs = CostModel(load_tables(scenario.system))
    qp = queue_policy or scenario.run.queue_policy
    mode = fast_forward or scenario.run.fast_forward
    if graph is None and should_fast_forward(scenario, policy, mode, file=file):
        out = ff_run(scenario, lambda s, p: run_graph(build_workload(s.workload.name, p, file=file),
                                                      s, policy, params, costs, qp), file=file)
        if out is not None:
            return out
    if graph is None:
        graph = build_workload(scenario.workload.name, scenario.workload.params, file=file)
    return run_graph(graph, scenario, policy, params, costs, qp)


def search_scenario(scenario: Scenario, objective: str, *, file: str | None = None,
                    granularity: str = "auto", exhaustive_limit: int = 512,
                    max_evaluations: int = 2000, compare_policies=("gpu-only", "hetero", "fpga-max", "heft"),
                    progress=None):
    """Search the best mappings of *scenario*; also evaluate named policies for reference.

    Returns ``(SearchResult, {policy: result})``; a policy that cannot map this system is left out.
    """
    from .errors import HetsimError
    from .mapping.search import search

    graph = build_workload(scenario.workload.name, scenario.workload.params, file=file)
    costs = CostModel(load_tables(scenario.system))
    evaluate = evaluator(graph, scenario, costs, scenario.run.queue_policy)
    res = search(graph, scenario.system, objective, evaluate, costs=costs, granularity=granularity,
                 exhaustive_limit=exhaustive_limit, max_evaluations=max_evaluations, progress=progress)
    named = {}
    for name in compare_policies:
        try:
            named[name] = evaluate(map_graph(name, graph, scenario.system, {}))
        except HetsimError:
            continue
    return res, named
