"""Builders for tests: inline devices, links, systems and graphs with hand-friendly numbers."""

from __future__ import annotations

from hetsim.config.device import DeviceSpec
from hetsim.config.link import LinkSpec
from hetsim.config.system import LinkUse, SystemSpec

from hetsim.costs import CostModel
from hetsim.engine import simulate
from hetsim.graph import add_data, add_edge, add_task, new_graph, validate_graph
from hetsim.mapping.base import Mapping, check_mapping
from hetsim.mapping.transfers import insert_transfers
from hetsim.metrics import summarize


def graph_of(tasks, edges=(), data=None):
    """tasks: (name, step, kernel, shape[, data]); edges: (u, v, bytes)."""
    g = new_graph("test")
    for name, size in (data or {}).items():
        add_data(g, name, size)
    for t in tasks:
        name, step, kernel, shape = t[:4]
        add_task(g, name, step, kernel, shape, data=t[4] if len(t) > 4 else ())
    for u, v, b in edges:
        add_edge(g, u, v, b)
    return validate_graph(g)


def run(graph, system, assignment, placement=None, **kw):
    m = Mapping("test", dict(assignment), dict(placement or {}))
    check_mapping(graph, system, m)
    g = insert_transfers(graph, m)
    trace = simulate(g, system, m, CostModel(), **kw)
    return trace, summarize(trace)


def make_device(name="a", kind="gpu", *, flops=1e12, bw=1e9, launch=0.0, idle=0.0, active=0.0,
                engines=1, capacity=1e12, **extra) -> DeviceSpec:
    """A roofline device with efficiency 1 everywhere."""
    return DeviceSpec.model_validate({
        "name": name, "kind": kind,
        "engines": [{"name": "compute", "count": engines}],
        "memory": {"capacity_bytes": capacity, "peak_bandwidth_Bps": bw, "achievable_bandwidth_Bps": bw},
        "peak_flop_per_s": {"bf16": flops, "fp32": flops},
        "efficiency": {"default": {"compute": 1.0, "memory": 1.0}},
        "launch_overhead_s": launch,
        "power": {"idle_w": idle, "active_w": active},
        **extra,
    })


def make_link(name="pcie", *, latency=0.0, bw=1e9, setup=0.0, idle=0.0, active=0.0, per_byte=0.0,
              reverse=None) -> LinkSpec:
    fwd = {"model": "alpha_beta", "latency_s": latency, "bandwidth_Bps": bw, "setup_s": setup}
    return LinkSpec.model_validate({
        "name": name, "forward": fwd, **({"reverse": reverse} if reverse else {}),
        "power": {"idle_w": idle, "active_w": active, "energy_per_byte_j": per_byte},
    })


def make_system(devices, links=()) -> SystemSpec:
    """links: iterable of (LinkSpec, a, b)."""
    return SystemSpec(devices=tuple(devices),
                      links=tuple(LinkUse(name=f"{s.name}:{a}-{b}", between=(a, b), spec=s)
                                  for s, a, b in links))
