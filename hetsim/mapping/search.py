"""``optimal``: the best mapping for latency, energy or energy-delay, found by simulation.

The search space has one variable per *data cluster* (resident data plus every task working
on it in place: they move together) and one per *free group* of tasks (tasks using no resident
data, grouped by (step, kernel), or one per task when the space is small). A variable's domain
is the set of devices that can run all its tasks. Every candidate is simulated (overlap,
contention and transfers included), so the answer is exact for the space, not a serial sum.

* Small spaces (at most ``exhaustive_limit`` combinations) are enumerated; the Pareto front of
  (makespan, energy) over all of them is exact.
* Larger spaces use depth-first branch and bound. The bound of a partial assignment is a
  valid lower bound on what simulation can give: the longest path with each task at its
  fastest allowed latency and each already-split edge at its uncontended route time, each
  device's assigned work divided over its engines, and its assigned memory traffic over its
  bandwidth (energy: idle power of devices already used over that time plus each task's
  least extra energy). A branch whose bound cannot beat the incumbent is pruned.
  ``max_evaluations`` caps the simulations; a capped search says it is bounded, not optimal.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Callable

import networkx as nx

from ..config.system import SystemSpec
from ..costs import CostModel
from ..errors import CapacityError, ConfigError, CostLookupError, MappingError
from ..graph import Task, task_of, topological_order
from ..topology import Topology
from .base import Mapping, check_mapping
from .capability import data_clusters
from .fusion import fusable

OBJECTIVES = ("latency", "energy", "edp")
Evaluate = Callable[[Mapping], dict]


def objective_value(result: dict, objective: str) -> float:
    """The number an objective minimises: s, J or J*s."""
    if objective == "latency":
        return result["makespan_s"]
    if objective == "energy":
        return result["energy_j"]
    if objective == "edp":
        return result["makespan_s"] * result["energy_j"]
    raise ConfigError(f"unknown objective {objective!r}; allowed: {', '.join(OBJECTIVES)}")


@dataclass(frozen=True)
class Variable:
    """One placement decision: these tasks and this data go to one device of ``domain``."""

    name: str
    tasks: frozenset[str]
    data: frozenset[str]
    domain: tuple[str, ...]


@dataclass
class Candidate:
    """An evaluated mapping."""

    mapping: Mapping
    result: dict
    choice: dict[str, str]

    def value(self, objective: str) -> float:
        return objective_value(self.result, objective)


@dataclass
class SearchResult:
    """Outcome of a search."""

    objective: str
    best: Candidate
    candidates: list[Candidate]
    variables: list[Variable]
    exhaustive: bool
    proven_optimal: bool
    pruned: int = 0
    infeasible: int = 0
    space_size: int = 0
    method: str = ""
    notes: list[str] = field(default_factory=list)

    def pareto(self) -> list[Candidate]:
        """Candidates no other candidate beats on both makespan and energy."""
        pts = sorted(self.candidates, key=lambda c: (c.result["makespan_s"], c.result["energy_j"]))
        front, best_e = [], math.inf
        for c in pts:
            if c.result["energy_j"] < best_e * (1 - 1e-12):
                front.append(c)
                best_e = c.result["energy_j"]
        return front


class _Costs:
    """Per (task, device) latency, memory bytes and extra energy, priced once."""

    def __init__(self, graph, system: SystemSpec, costs: CostModel):
        self.lat: dict[str, dict[str, float]] = {}
        self.mem: dict[str, dict[str, float]] = {}
        self.extra_j: dict[str, dict[str, float]] = {}
        for n in graph.nodes:
            t = task_of(graph, n)
            if t.is_transfer:
                continue
            self.lat[n], self.mem[n], self.extra_j[n] = {}, {}, {}
            for d in system.devices:
                try:
                    k = costs.price(t, d)
                except CostLookupError:
                    continue
                self.lat[n][d.name] = k.latency_s
                self.mem[n][d.name] = k.mem_bytes
                self.extra_j[n][d.name] = k.extra_power_w * k.latency_s
        # Bounds must stay below what a fused pair costs (fusion.py merges a scoring task and
        # its top-k on an FPGA with the fused design): the top-k may cost nothing, the scoring
        # task no more than the fused kernel.
        self.bound_lat = {n: dict(r) for n, r in self.lat.items()}
        self.bound_mem = {n: dict(r) for n, r in self.mem.items()}
        self.bound_j = {n: dict(r) for n, r in self.extra_j.items()}
        for u, v in graph.edges:
            rule = fusable(graph, u, v)
            if rule is None:
                continue
            kernel, shape = rule
            for d in system.devices:
                if d.fpga is None or kernel not in d.fpga.kernels:
                    continue
                try:
                    k = costs.price(Task(f"{u}+{v}", task_of(graph, u).step, kernel, shape), d)
                except CostLookupError:
                    continue
                for tbl, val in ((self.bound_lat, k.latency_s), (self.bound_mem, k.mem_bytes),
                                 (self.bound_j, k.extra_power_w * k.latency_s)):
                    if d.name in tbl[u]:
                        tbl[u][d.name] = min(tbl[u][d.name], val)
                    if d.name in tbl[v]:
                        tbl[v][d.name] = 0.0


def build_variables(graph: nx.DiGraph, system: SystemSpec, costs: _Costs, granularity: str) -> list[Variable]:
    """Placement variables of *graph* (see module docstring)."""
    data = graph.graph.get("data", {})
    out: list[Variable] = []
    tied: set[str] = set()
    for names, tasks in data_clusters(graph):
        size = sum(data[d] for d in names)
        domain = tuple(d.name for d in system.devices
                       if all(d.name in costs.lat[t] for t in tasks)
                       and size <= float(d.memory.capacity_bytes))
        label = "+".join(sorted(names))
        out.append(Variable(f"data:{label}", frozenset(tasks), frozenset(names), domain))
        tied |= tasks
    groups: dict[str, set[str]] = {}
    for n in topological_order(graph):
        t = task_of(graph, n)
        if t.is_transfer or n in tied:
            continue
        key = n if granularity == "task" else f"{t.step.value}/{t.kernel}"
        groups.setdefault(key, set()).add(n)
    for key, tasks in groups.items():
        domain = tuple(d.name for d in system.devices if all(d.name in costs.lat[t] for t in tasks))
        out.append(Variable(f"tasks:{key}", frozenset(tasks), frozenset(), domain))
    for v in out:
        if not v.domain:
            raise MappingError(f"optimal: no device can run all of {v.name} "
                               f"({len(v.tasks)} tasks) with its data")
    return out


def _mapping(variables: list[Variable], choice: tuple[str, ...], policy: str) -> Mapping:
    assignment, placement = {}, {}
    for v, dev in zip(variables, choice):
        assignment.update({t: dev for t in v.tasks})
        placement.update({d: dev for d in v.data})
    return Mapping(policy, assignment, placement)


class _Bound:
    """Lower bounds of partial assignments (valid for the simulated makespan and energy)."""

    def __init__(self, graph, system: SystemSpec, costs: _Costs, variables: list[Variable]):
        self.g = graph
        self.order = topological_order(graph)
        self.system = system
        self.topo = Topology(system)
        self.costs = costs
        self.var_of = {t: i for i, v in enumerate(variables) for t in v.tasks}
        self.vars = variables
        self.engines = {d.name: d.num_engines for d in system.devices}
        self.bw = {d.name: float(d.memory.achievable_bandwidth_Bps) for d in system.devices}
        self.idle = {d.name: float(d.power.idle_w) for d in system.devices}

    def __call__(self, choice: list[str]) -> tuple[float, float]:
        """(time lower bound, energy lower bound) for the first len(choice) variables fixed."""
        k = len(choice)
        dev_of = {}
        for t, i in self.var_of.items():
            if i < k:
                dev_of[t] = choice[i]
        lat, longest = self.costs.bound_lat, {}
        load = {d: 0.0 for d in self.engines}
        mem = {d: 0.0 for d in self.engines}
        extra = 0.0
        for n in self.order:
            d = dev_of.get(n)
            if d is not None:
                w = lat[n][d]
                load[d] += w
                mem[d] += self.costs.bound_mem[n][d]
                extra += self.costs.bound_j[n][d]
            else:
                dom = self.vars[self.var_of[n]].domain
                w = min(lat[n][x] for x in dom)
                extra += min(self.costs.bound_j[n][x] for x in dom)
            start = 0.0
            for p, _, b in self.g.in_edges(n, data="bytes"):
                t = longest[p]
                dp = dev_of.get(p)
                if b and d is not None and dp is not None and dp != d:
                    t += self.topo.route_time_s(dp, d, b)
                start = max(start, t)
            longest[n] = start + w
        t_lb = max([max(longest.values(), default=0.0)]
                   + [load[d] / self.engines[d] for d in load] + [mem[d] / self.bw[d] for d in mem])
        used = set(dev_of.values())
        e_lb = sum(self.idle[d] for d in used) * t_lb + max(extra, 0.0)
        return t_lb, e_lb


def search(graph: nx.DiGraph, system: SystemSpec, objective: str, evaluate: Evaluate, *,
           costs: CostModel | None = None, granularity: str = "auto", exhaustive_limit: int = 512,
           max_evaluations: int = 2000, progress: Callable[[int, int], None] | None = None
           ) -> SearchResult:
    """Find the best mapping of *graph* on *system* for *objective* (see module docstring).

    Parameters
    ----------
    evaluate : callable
        Mapping -> result dict (the simulation); supplied by the caller so this module stays
        below the engine in the import order.
    granularity : {"auto", "task", "group"}
        Free tasks as one variable each ("task") or per (step, kernel) ("group"); "auto" takes
        "task" when that gives at most 12 variables and ``exhaustive_limit`` points.
    """
    objective_value({"makespan_s": 0, "energy_j": 0}, objective)  # validates the name
    if granularity not in ("auto", "task", "group"):
        raise ConfigError(f"unknown granularity {granularity!r}; allowed: auto, task, group")
    priced = _Costs(graph, system, costs or CostModel())
    if granularity == "auto":
        # per-task variables only when they stay few and enumerable (readable answers)
        variables = build_variables(graph, system, priced, "task")
        if (len(variables) > 12
                or math.prod(len(v.domain) for v in variables) > exhaustive_limit):
            variables = build_variables(graph, system, priced, "group")
    else:
        variables = build_variables(graph, system, priced, granularity)
    # big decisions first; on each, try the device where its tasks are fastest first
    weight = {v.name: sum(min(priced.lat[t].values()) for t in v.tasks) for v in variables}
    variables.sort(key=lambda v: (-weight[v.name], v.name))
    domains = [sorted(v.domain, key=lambda d: (sum(priced.lat[t][d] for t in v.tasks), d))
               for v in variables]
    size = math.prod(len(d) for d in domains)
    result = SearchResult(objective, None, [], variables, size <= exhaustive_limit, False,  # type: ignore[arg-type]
                          space_size=size)

    def consider(choice: tuple[str, ...]) -> Candidate | None:
        m = _mapping(variables, choice, "optimal")
        try:
            check_mapping(graph, system, m)
        except (CapacityError, MappingError):
            result.infeasible += 1
            return None
        cand = Candidate(m, evaluate(m), {v.name: c for v, c in zip(variables, choice)})
        result.candidates.append(cand)
        if progress:
            progress(len(result.candidates), size)
        if result.best is None or cand.value(objective) < result.best.value(objective) * (1 - 1e-12):
            result.best = cand
        return cand

    if result.exhaustive:
        result.method = "exhaustive"
        for choice in itertools.product(*domains):
            consider(choice)
        result.proven_optimal = True
    else:
        result.method = "branch-and-bound"
        bound = _Bound(graph, system, priced, variables)
        capped = False

        def lower(prefix: list[str]) -> float:
            t, e = bound(prefix)
            return {"latency": t, "energy": e, "edp": t * e}[objective]

        def dfs(prefix: list[str]) -> None:
            nonlocal capped
            if capped:
                return
            if len(prefix) == len(variables):
                if len(result.candidates) >= max_evaluations:
                    capped = True
                    return
                consider(tuple(prefix))
                return
            for dev in domains[len(prefix)]:
                nxt = prefix + [dev]
                if result.best is not None and lower(nxt) >= result.best.value(objective) * (1 - 1e-12):
                    result.pruned += 1
                    continue
                dfs(nxt)

        dfs([])
        result.proven_optimal = not capped
        if capped:
            result.notes.append(f"stopped after {max_evaluations} simulations: best found, not proven optimal")
    if result.best is None:
        raise MappingError("optimal: no feasible mapping (every candidate exceeded a device's memory)")
    return result


def optimal(graph, system, params, evaluate: Evaluate | None = None, **_):
    """Mapping policy: the best mapping for ``params['objective']`` (default latency)."""
    if evaluate is None:
        raise MappingError("the optimal policy needs a simulator to evaluate candidates")
    allowed = {"objective", "granularity", "exhaustive_limit", "max_evaluations"}
    unknown = set(params) - allowed
    if unknown:
        raise ConfigError(f"unknown optimal parameters {sorted(unknown, key=str)}; allowed: {', '.join(sorted(allowed))}",
                          field="mapping.params")
    res = search(graph, system, params.get("objective", "latency"), evaluate,
                 granularity=params.get("granularity", "auto"),
                 exhaustive_limit=int(params.get("exhaustive_limit", 512)),
                 max_evaluations=int(params.get("max_evaluations", 2000)))
    return res.best.mapping
