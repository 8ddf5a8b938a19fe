"""Property tests: invariants every schedule hetsim produces must satisfy.

Random systems (1-3 devices, random engines, bandwidths, powers, alpha-beta links in a chain
or a star through a host), random DAGs (kernels with random shapes and edge bytes) and random
mappings. Each property reads only the trace, so an engine bug that breaks physics (a channel
released early, a bandwidth share over capacity, a task started before its input arrived)
shows up as a readable counterexample.
"""

from __future__ import annotations

import math
from collections import defaultdict

import networkx as nx
import pytest
from hypothesis import given, strategies as st

from hetsim.costs import CostModel
from hetsim.engine import simulate
from hetsim.graph import task_of
from hetsim.mapping.base import Mapping
from hetsim.mapping.transfers import insert_transfers
from hetsim.metrics import summarize
from hetsim.topology import Topology
from strategies import graphs, systems

@st.composite
def cases(draw, scale: float = 1.0):
    system = draw(systems(scale))
    g = draw(graphs())
    names = system.device_names
    assignment = {n: draw(st.sampled_from(names)) for n in sorted(g.nodes)}
    policy = draw(st.sampled_from(["fifo", "critical-path-first"]))
    return system, g, assignment, policy


def _run(system, g, assignment, policy):
    m = Mapping("random", assignment, {})
    gx = insert_transfers(g, m)
    trace = simulate(gx, system, m, CostModel(), queue_policy=policy)
    return gx, m, trace, summarize(trace)


def _spans(trace):
    spans = {}
    for r in trace.records:
        s, e = spans.get(r.name, (math.inf, -math.inf))
        spans[r.name] = (min(s, r.start_s), max(e, r.end_s))
    return spans


EPS = 1e-12


@given(cases())
def test_precedence(case):
    gx, _, trace, _ = _run(*case)
    spans = _spans(trace)
    assert set(spans) == set(gx.nodes), "every task and transfer ran exactly once"
    for u, v in gx.edges:
        assert spans[v][0] >= spans[u][1] - EPS, f"{v} started at {spans[v][0]} before {u} ended at {spans[u][1]}"
    hops = defaultdict(list)
    for r in trace.records:
        if r.kind == "hop":
            hops[r.name].append(r)
    for name, rs in hops.items():
        rs.sort(key=lambda r: r.hop)
        for a, b in zip(rs, rs[1:]):
            assert b.start_s >= a.end_s - EPS, f"{name}: hop {b.hop} started before hop {a.hop} ended"


@given(cases())
def test_capacity_never_exceeded(case):
    system, *_ = case
    _, _, trace, res = _run(*case)
    per_resource = defaultdict(list)
    for r in trace.records:
        per_resource[r.resource].append((r.start_s, r.end_s, r.name))
    for res_name, iv in per_resource.items():
        iv.sort()
        for (s1, e1, n1), (s2, e2, n2) in zip(iv, iv[1:]):
            assert s2 >= e1 - EPS, f"{res_name} runs {n1} [{s1}, {e1}] and {n2} [{s2}, {e2}] at once"
    for d in system.devices:
        # the memory served no more than its bandwidth over the time anything ran on it
        busy = res["devices"][d.name]["busy_s"]
        assert trace.memory_bytes[d.name] <= float(d.memory.achievable_bandwidth_Bps) * busy * (1 + 1e-9) + 1e-6


@given(cases())
def test_bytes_are_conserved(case):
    system, g, assignment, _ = case
    gx, m, trace, res = _run(*case)
    topo = Topology(system)
    expected_link = 0.0
    for u, v, b in g.edges(data="bytes"):
        if b and assignment[u] != assignment[v]:
            expected_link += b * len(topo.route(assignment[u], assignment[v], b))
    moved = sum(lk["bytes"] for lk in res["links"].values())
    assert moved == pytest.approx(expected_link, rel=1e-12, abs=1e-9)
    task_bytes = defaultdict(float)
    for r in trace.records:
        if r.kind == "task":
            task_bytes[r.device] += r.nbytes
    for d in system.device_names:
        assert trace.memory_bytes[d] == pytest.approx(task_bytes[d], rel=1e-9, abs=1e-6)


@given(cases())
def test_energy_identity(case):
    system, *_ = case
    _, _, trace, res = _run(*case)
    makespan = res["makespan_s"]
    idle = sum(float(d.power.idle_w) * makespan for d in system.devices if trace.devices[d.name].used)
    idle += sum(float(lk.spec.power.idle_w) * makespan for lk in system.links)
    extra = 0.0
    for r in trace.records:
        if r.kind == "task":
            dev = system.device(r.device)
            assert r.extra_power_w == pytest.approx(
                (r.energy_j / r.duration_s) if r.duration_s > 0 else r.extra_power_w)
            extra += (r.extra_power_w * r.duration_s)
            assert r.extra_power_w <= (float(dev.power.active_w) - float(dev.power.idle_w)) / dev.num_engines + 1e-9
        else:
            extra += r.energy_j
    assert res["energy_j"] == pytest.approx(idle + extra, rel=1e-9, abs=1e-15)
    assert sum(s["energy_j"] for s in res["steps"].values()) <= res["energy_j"] * (1 + 1e-9) + 1e-15


def _fastest_path_bound(system, g):
    cm = CostModel()
    best = {n: min(cm.price(task_of(g, n), d).latency_s for d in system.devices) for n in g.nodes}
    longest = {}
    for n in nx.topological_sort(g):
        longest[n] = best[n] + max((longest[p] for p in g.predecessors(n)), default=0.0)
    return max(longest.values(), default=0.0)


@given(cases())
def test_makespan_bounds(case):
    system, g, assignment, policy = case
    gx, m, trace, res = _run(*case)
    lower = _fastest_path_bound(system, g)
    cm, topo = CostModel(), Topology(system)
    serial = 0.0
    for n in gx.nodes:
        t = task_of(gx, n)
        if t.is_transfer:
            serial += topo.route_time_s(t.src, t.dst, t.nbytes)
        else:
            serial += cm.price(t, system.device(assignment[n])).latency_s
    assert lower * (1 - 1e-9) <= res["makespan_s"] <= serial * (1 + 1e-9) + 1e-15


@given(cases())
def test_deterministic(case):
    a = _run(*case)
    b = _run(*case)
    assert a[2].records == b[2].records
    assert a[3] == b[3]


@given(cases(), st.sampled_from([0.5, 3.0, 1000.0]))
def test_scaling_every_cost_scales_the_makespan(case, c):
    system, g, assignment, policy = case
    r1 = _run(system, g, assignment, policy)[3]
    r2 = _run(_scale_system(system, c), g, assignment, policy)[3]
    assert r2["makespan_s"] == pytest.approx(c * r1["makespan_s"], rel=1e-9, abs=1e-18)


def _scale_system(system, c):
    from hetsim.config.system import SystemSpec

    devs = []
    for d in system.devices:
        raw = d.model_dump(mode="python")
        raw["peak_flop_per_s"] = {k: v / c for k, v in raw["peak_flop_per_s"].items()}
        for key in ("peak_bandwidth_Bps", "achievable_bandwidth_Bps"):
            raw["memory"][key] = raw["memory"][key] / c
        raw["launch_overhead_s"] = raw["launch_overhead_s"] * c
        devs.append(type(d).model_validate(raw))
    links = []
    for lk in system.links:
        raw = lk.model_dump(mode="python")
        f = raw["spec"]["forward"]
        f["latency_s"], f["setup_s"], f["bandwidth_Bps"] = f["latency_s"] * c, f["setup_s"] * c, f["bandwidth_Bps"] / c
        links.append(type(lk).model_validate(raw))
    return SystemSpec(devices=tuple(devs), links=tuple(links))
