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
from .mapping.serial import serialize
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


def executable(graph: nx.DiGraph, scenario: Scenario, m: Mapping) -> tuple[nx.DiGraph, Mapping]:
    """Fuse, insert transfers (minus the run's free ones) and serialise if the run asks to."""
    g, m = fuse_pairs(graph, scenario.system, m)
    g = insert_transfers(g, m, free=scenario.run.free_transfers)
    if scenario.run.serialize:
        g = serialize(g)
    return g, m


def evaluator(graph: nx.DiGraph, scenario: Scenario, costs: CostModel, queue_policy: str):
    """Return Mapping -> result: one full simulation of *graph* under that mapping."""

    def evaluate(m: Mapping) -> dict:
        g, m = executable(graph, scenario, m)
        trace = simulate(g, scenario.system, m, costs,
                         queue_policy=queue_policy, power_off_unused=scenario.run.power_off_unused)
        return summarize(trace)

    return evaluate


def run_scenario(scenario: Scenario, *, mapping: str | None = None, file: str | None = None,
                 queue_policy: str | None = None, mapping_params: dict | None = None) -> RunOutput:
    """Simulate *scenario*, optionally with another mapping policy or queue policy."""
    graph = build_workload(scenario.workload.name, scenario.workload.params, file=file)
    policy = mapping or scenario.mapping.policy
    params = scenario.mapping.params if policy == scenario.mapping.policy else {}
    if mapping_params:
        params = {**params, **mapping_params}
    costs = CostModel(load_tables(scenario.system))
    qp = queue_policy or scenario.run.queue_policy
    m = map_graph(policy, graph, scenario.system, params, evaluate=evaluator(graph, scenario, costs, qp))
    g, m = executable(graph, scenario, m)
    trace = simulate(g, scenario.system, m, costs, queue_policy=qp,
                     power_off_unused=scenario.run.power_off_unused)
    result = summarize(trace)
    if "free_transfers" in g.graph:
        result["free_transfers"] = g.graph["free_transfers"]
    if scenario.run.serialize:
        result["serialized"] = True
    result["scenario"] = scenario.name
    result["workload"] = {"name": scenario.workload.name, "graph": graph.graph.get("name", "")}
    return RunOutput(scenario, g, m, trace, result)


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
