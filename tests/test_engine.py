"""Engine micro-scenarios with exact, hand-computed answers (SimPy's style of tests)."""

from __future__ import annotations

import pytest

from hetsim.costs import CostModel
from hetsim.costs.model import KernelCost
from hetsim.engine import simulate
from hetsim.mapping.base import Mapping
from hetsim.metrics import records_of

from simkit import graph_of, make_device, make_link, make_system, run

EW = "elementwise"


def test_three_task_chain_across_two_devices_exact_makespan_and_energy(two_device_system):
    # t1 on a: elementwise 1000 elems -> 1000 FLOP, 6000 B. compute 1e-9 s, memory 6e-6 s;
    #          + launch 1e-6 s = 7e-6 s.
    # a->b transfer of 1000 B: setup 1e-6 + latency 2e-6 + 1000/1e9 = 4e-6 s.
    # t2 on b: gemm 10x10x10 -> 2000 FLOP (1e-9 s), 600 B at 2e9 B/s = 3e-7 s; no launch.
    # b->a transfer of 500 B: 1e-6 + 2e-6 + 0.5e-6 = 3.5e-6 s.
    # t3 on a: like t1, 7e-6 s.            makespan = 7 + 4 + 0.3 + 3.5 + 7 = 21.8 us
    g = graph_of([("t1", "model", EW, {"num_elems": 1000}),
                  ("t2", "model", "gemm", {"m": 10, "n": 10, "k": 10}),
                  ("t3", "model", EW, {"num_elems": 1000})],
                 [("t1", "t2", 1000), ("t2", "t3", 500)])
    trace, res = run(g, two_device_system, {"t1": "a", "t2": "b", "t3": "a"})
    assert res["makespan_s"] == pytest.approx(21.8e-6, rel=1e-12)
    spans = [(r.name, r.resource, r.start_s, r.end_s) for r in trace.records]
    expected = [("t1", "a/compute", 0.0, 7e-6),
                ("xfer:t1->t2", "pcie:a-b:a->b", 7e-6, 11e-6),
                ("t2", "b/compute", 11e-6, 11.3e-6),
                ("xfer:t2->t3", "pcie:a-b:b->a", 11.3e-6, 14.8e-6),
                ("t3", "a/compute", 14.8e-6, 21.8e-6)]
    for got, want in zip(spans, expected):
        assert got[:2] == want[:2]
        assert got[2:] == pytest.approx(want[2:], rel=1e-12, abs=1e-18)
    # energy: a: 10 W x 21.8 us + (110 - 10) W x 14 us busy      = 1618e-6 J
    #         b:  5 W x 21.8 us + ( 25 -  5) W x 0.3 us busy     =  115e-6 J
    #      link:  1 W x 21.8 us + (3 - 1) W x 7.5 us + 1e-9 J/B x 1500 B = 38.3e-6 J
    assert res["devices"]["a"]["energy_j"] == pytest.approx(1618e-6, rel=1e-9)
    assert res["devices"]["b"]["energy_j"] == pytest.approx(115e-6, rel=1e-9)
    assert res["energy_j"] == pytest.approx(1771.3e-6, rel=1e-9)
    assert res["links"]["pcie:a-b:a->b"] == pytest.approx(
        {"bytes": 1000.0, "busy_s": 4e-6, "energy_j": 2 * 4e-6 + 1e-6, "transfers": 1})
    # everything is on the one chain: critical times add up to the makespan
    crit = sum(s["critical_s"] for s in res["steps"].values())
    assert crit == pytest.approx(res["makespan_s"], rel=1e-12)
    assert res["steps"]["transfer"]["critical_s"] == pytest.approx(7.5e-6, rel=1e-12)


def _shared_hbm_system(engines=2):
    return make_system([make_device("d", bw=1e9, flops=1e12, engines=engines, idle=0, active=0)])


def test_two_memory_bound_tasks_share_hbm_and_every_byte_is_counted():
    # each task streams 6e6 B (elementwise 1e6 elems x 3 x 2 B); alone 6 ms at 1 GB/s.
    alone_g = graph_of([("x", "model", EW, {"num_elems": 10**6})])
    _, alone = run(alone_g, _shared_hbm_system(), {"x": "d"})
    assert alone["makespan_s"] == pytest.approx(6e-3)
    both = graph_of([("x", "model", EW, {"num_elems": 10**6}),
                     ("y", "model", EW, {"num_elems": 10**6})])
    trace, res = run(both, _shared_hbm_system(), {"x": "d", "y": "d"})
    # processor sharing: both run at 0.5 GB/s and end together at 12 ms (not 6 and 12 ms)
    ends = sorted(r.end_s for r in trace.records)
    assert ends == pytest.approx([12e-3, 12e-3])
    assert res["makespan_s"] > alone["makespan_s"]
    assert res["memory_bytes"]["d"] == pytest.approx(12e6, rel=1e-12)
    assert sum(r.nbytes for r in trace.records) == pytest.approx(12e6)


def test_water_filling_gives_the_light_flow_its_cap_and_the_rest_to_the_heavy_one():
    # x: gemm m=k=n=... chosen compute-bound: 1e10 FLOP at 1e12 -> 10 ms, moving 2e6 B -> cap 0.2 GB/s
    # y: elementwise streaming 6e6 B, alone 6 ms.
    # Together: x keeps 0.2 GB/s (under its fair share), y gets 0.8 GB/s -> y ends at 7.5 ms,
    # x at 10 ms.
    # (x's cost is fixed by hand so that its byte demand is exactly 2e6 B over 10 ms)
    g = graph_of([("x", "model", "gemm", {"m": 100, "n": 1000, "k": 50000}),
                  ("y", "model", EW, {"num_elems": 10**6})])

    class Fixed(CostModel):
        def price(self, task, device):
            if task.name == "x":
                return KernelCost(0.0, 10e-3, 2e6, 1e10, 0.0, "gemm", "test")
            return super().price(task, device)

    trace = simulate(g, _shared_hbm_system(), Mapping("t", {"x": "d", "y": "d"}, {}), Fixed())
    ends = {r.name: r.end_s for r in trace.records}
    assert ends["y"] == pytest.approx(7.5e-3, rel=1e-12)
    assert ends["x"] == pytest.approx(10e-3, rel=1e-12)
    assert trace.memory_bytes["d"] == pytest.approx(8e6, rel=1e-12)


def test_host_staged_transfer_costs_both_hops():
    # no direct gpu<->fpga link: 1e6 B go gpu->host (1 us + 1e6/1e10 = 101 us) then
    # host->fpga (2 us + 1e6/5e9 = 202 us): 303 us in all.
    devs = [make_device("gpu"), make_device("fpga", kind="fpga"), make_device("host", kind="cpu")]
    sysm = make_system(devs, [(make_link("g", latency=1e-6, bw=1e10), "gpu", "host"),
                              (make_link("f", latency=2e-6, bw=5e9), "host", "fpga")])
    g = graph_of([("p", "model", EW, {"num_elems": 0}), ("c", "model", EW, {"num_elems": 0})],
                 [("p", "c", 10**6)])
    trace, res = run(g, sysm, {"p": "gpu", "c": "fpga"})
    hops = records_of(trace, "xfer:p->c")
    assert [h.resource for h in hops] == ["g:gpu-host:gpu->host", "f:host-fpga:host->fpga"]
    assert [h.duration_s for h in hops] == pytest.approx([101e-6, 202e-6], rel=1e-12)
    assert res["makespan_s"] == pytest.approx(303e-6, rel=1e-12)


def _duplex_case(second_src: str):
    sysm = make_system([make_device("x"), make_device("y", kind="fpga")],
                       [(make_link("l", latency=0.0, bw=1e9), "x", "y")])
    dst = "y" if second_src == "x" else "x"
    g = graph_of([("p1", "model", EW, {"num_elems": 0}), ("c1", "model", EW, {"num_elems": 0}),
                  ("p2", "model", EW, {"num_elems": 0}), ("c2", "model", EW, {"num_elems": 0})],
                 [("p1", "c1", 10**6), ("p2", "c2", 10**6)])
    return run(g, sysm, {"p1": "x", "c1": "y", "p2": second_src, "c2": dst})


def test_opposite_directions_do_not_block_each_other():
    trace, res = _duplex_case("y")
    assert res["makespan_s"] == pytest.approx(1e-3, rel=1e-12)  # 1e6 B at 1e9 B/s, in parallel


def test_same_direction_transfers_queue():
    trace, res = _duplex_case("x")
    ends = sorted(r.end_s for r in trace.records if r.kind == "hop")
    assert ends == pytest.approx([1e-3, 2e-3], rel=1e-12)


def test_engine_pool_slots_are_named_and_never_double_booked():
    sysm = make_system([make_device("d", engines=2, bw=1e12)])
    g = graph_of([(f"t{i}", "model", "gemm", {"m": 64, "n": 64, "k": 64}) for i in range(5)])
    trace, _ = run(g, sysm, {f"t{i}": "d" for i in range(5)})
    by_slot = {}
    for r in trace.records:
        by_slot.setdefault(r.resource, []).append((r.start_s, r.end_s))
    assert set(by_slot) == {"d/compute[0]", "d/compute[1]"}
    for spans in by_slot.values():
        spans.sort()
        assert all(a[1] <= b[0] + 1e-18 for a, b in zip(spans, spans[1:]))


def test_same_inputs_give_bit_identical_results(two_device_system):
    g = graph_of([("t1", "model", EW, {"num_elems": 1000}),
                  ("t2", "model", "gemm", {"m": 10, "n": 10, "k": 10}),
                  ("t3", "model", EW, {"num_elems": 1000})],
                 [("t1", "t2", 1000), ("t1", "t3", 10), ("t2", "t3", 500)])
    a = run(g, two_device_system, {"t1": "a", "t2": "b", "t3": "a"})
    b = run(g, two_device_system, {"t1": "a", "t2": "b", "t3": "a"})
    assert a[0].records == b[0].records
    assert a[1] == b[1]
