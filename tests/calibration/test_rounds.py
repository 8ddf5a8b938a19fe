"""Drift-cancelling validation on tiny pipelines: round structure, intervals, probes, report.

Tiny shapes and 3-6 rounds keep this fast; the statistics are checked on known inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calibration.probes import compare_probes, probe_noise, read_cpu_times, steal_fraction
from calibration.stats import claimable, median_ci

torch = pytest.importorskip("torch")

from calibration.harness import calibrate  # noqa: E402
from calibration.report import markdown, write_report  # noqa: E402
from calibration.rounds import task_classes, validate_rounds  # noqa: E402
from hetsim.workloads.registry import build_workload  # noqa: E402

GEMMS = [{"m": 1, "k": 64, "n": n} for n in (64, 128, 256)]
GRIDS = {"gemm": GEMMS, "elementwise": [{"num_elems": n} for n in (1024, 4096, 16384)]}


def test_median_ci_is_an_order_statistic_interval():
    ci = median_ci(list(range(10)))
    assert ci["median"] == 4.5 and (ci["lo"], ci["hi"]) == (1.0, 8.0)
    assert ci["coverage"] == pytest.approx(1 - 2 * 11 / 1024)
    few = median_ci([3.0, 1.0, 2.0])
    assert (few["lo"], few["hi"]) == (1.0, 3.0) and few["coverage"] < 0.95
    assert not claimable(few)  # too few rounds: no claim whatever the width
    assert claimable(median_ci([0.01 * i for i in range(10)]))
    assert not claimable(median_ci([0.05 * i for i in range(10)]))  # 35 points wide
    assert median_ci([])["median"] is None


def test_proc_stat_steal_and_probe_comparison(tmp_path):
    stat = tmp_path / "stat"
    stat.write_text("cpu  100 0 50 800 10 0 0 40 0 0\ncpu0 1 2 3\n")
    before = read_cpu_times(str(stat))
    assert before == (1000, 40)
    stat.write_text("cpu  150 0 50 850 10 0 0 140 0 0\n")
    assert steal_fraction(before, read_cpu_times(str(stat))) == pytest.approx(100 / 200)
    assert read_cpu_times(str(tmp_path / "missing")) is None
    table = {"gemm_1t_s": 1e-3, "gemm_all_s": 6e-4, "copy_Bps": 1e10, "loadavg_1m": 0.5}
    now = [{"gemm_1t_s": 1.2e-3, "gemm_all_s": 6.1e-4, "copy_Bps": 8e9, "loadavg_1m": 3.0, "steal_frac": 0.1}]
    cmp = compare_probes(table, now, {"gemm_1t_s": 0.02})
    assert cmp["gemm_1t_s"]["slowdown"] == pytest.approx(0.2) and cmp["gemm_1t_s"]["beyond_noise"]
    assert not cmp["gemm_all_s"]["beyond_noise"]
    assert cmp["copy_Bps"]["slowdown"] == pytest.approx(0.25)  # a lower rate = slower
    text = " ".join(cmp["warnings"])
    assert "gemm_1t_s: machine 20% slower" in text and "steal" in text
    assert probe_noise([{"gemm_1t_s": 1.0}, {"gemm_1t_s": 1.1}])["gemm_1t_s"] == pytest.approx(0.1)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("rounds")
    table = d / "cpu.json"
    calibrate("cpu", kernels=list(GRIDS), quick=True, out=table, progress=False, threads=1,
              repeats=3, rotate_bytes=1 << 20, grids=GRIDS)
    tasks = [{"name": f"g{i}", "step": "model", "kernel": "gemm", "shape": s} for i, s in enumerate(GEMMS)]
    tasks.append({"name": "act", "step": "model", "kernel": "elementwise", "shape": {"num_elems": 4096}})
    edges = [{"from": "g0", "to": "g1", "bytes": 0}, {"from": "g1", "to": "g2", "bytes": 0},
             {"from": "g2", "to": "act", "bytes": 0}]
    graph = build_workload("custom", {"tasks": tasks, "edges": edges})
    seen = []
    res = validate_rounds(table, rounds=3, graphs={"tiny": graph},
                          on_round=lambda name, r: seen.append((name, r)))
    return table, res, seen, d


def test_rounds_report_series_intervals_and_drift(tiny):
    table, res, seen, _ = tiny
    assert seen == [("tiny", 0), ("tiny", 1), ("tiny", 2)]
    assert res["threads"] == 1  # pinned to the table's recorded count
    v = res["pipelines"]["tiny"]
    s = v["series"]
    assert len(s["measured_s"]) == len(s["drift"]) == 3
    for d, m, e, et in zip(s["drift"], s["measured_s"], s["error_corrected"], s["error_vs_table"]):
        assert e == pytest.approx(v["simulated_s"] * (1 + d) / m - 1)
        assert et == pytest.approx(v["simulated_s"] / m - 1)
    assert v["error_corrected"]["n"] == 3 and v["error_corrected"]["lo"] <= v["error_corrected"]["hi"]
    # 3 rounds cannot give a 95% interval: the run says it cannot claim a number
    assert not v["reliable"] and any("too wide to claim" in r for r in v["reasons"])
    assert not res["reliable"]
    assert v["data_edges"] >= 1  # g0 -> g1 -> g2 pass their activations (1x64 -> 1x64 ...)
    assert len(v["per_task"]) == 4 and {r["task"] for r in v["per_task"]} == {"g0", "g1", "g2", "act"}
    for r in v["per_task"]:
        assert r["in_pipeline_s"] > 0 and r["table_cold_s"] > 0 and r["table_warm_s"] > 0
    assert sum(c["count"] for c in task_classes(v["per_task"])) == 4
    assert len(res["probes"]["runs"]) == 2 and "comparison" in res["probes"]
    assert any("than when the table was made" in w for w in res["warnings"])
    json.dumps(res)  # --json carries all of it


def test_fidelity_report_page_and_plots(tiny):
    table, res, _, d = tiny
    page = write_report(res, table, d / "rep")
    text = page.read_text()
    for part in ("## Pipelines", "## Tasks inside the pipelines", "## Kernels (held out)",
                 "## Machine-state probes", "drift-corrected error", "too wide to claim", "UNRELIABLE"):
        assert part in text, part
    for img in ("pipelines.png", "tasks.png", "kernels.png"):
        assert (d / "rep" / img).stat().st_size > 1000
        assert f"({img})" in text
    assert markdown(res).startswith("# hetsim fidelity report")


def test_table_records_cold_times_and_probes(tiny):
    table, _, _, _ = tiny
    t = json.loads(table.read_text())
    prov = t["provenance"]
    assert len(prov["probes"]["runs"]) == 2 and prov["probes"]["median"]["gemm_1t_s"] > 0
    assert prov["cold"]["evict_bytes"] == 1 << 20
    for entry in t["kernels"].values():
        for p in entry["points"]:
            assert p["cold_s"] > 0
        assert all("cold_s" in m for m in entry["fit"]["measured"])


def test_cpu_clock_times_each_call_and_the_whole():
    import time

    from calibration.clock import Clock, Evictor

    clock = Clock("cpu")
    total, each = clock.measure_each([lambda: time.sleep(0.002), lambda: None])
    assert len(each) == 2 and each[0] >= 0.0019 and total >= sum(each) * 0.999
    assert clock.measure(lambda: time.sleep(0.001)) >= 0.0009
    ev = Evictor(torch, "cpu", 4096)
    ev()
    assert ev.buf.numel() == 1024 and float(ev.out) == 1024.0  # read the whole buffer


def test_pooled_errors_cancel_drift_and_shrug_off_one_preempted_call():
    import numpy as np

    from calibration.rounds import pooled_errors, step_change

    rounds = 10
    speed = np.linspace(1.0, 1.3, rounds)  # the machine slows 30% over the run
    base = np.array([1e-3, 5e-3, 2e-3])  # three tasks, tasks 0 and 2 share a shape
    inpipe = np.stack([np.stack([b * speed, b * speed], axis=1) for b in base])
    rem = np.stack([1e-3 * speed * 1.02, 5e-3 * speed * 1.02])  # single calls 2% slower
    cold_tab = np.array([1e-3, 5e-3, 1e-3])
    sim = float(cold_tab.sum())
    rem[1, 9] *= 10  # one preempted re-measurement (already the slowest round: median unmoved)
    out = pooled_errors(inpipe, rem, np.array([0, 1, 0]), cold_tab, sim, resamples=200)
    assert out["error_corrected"]["median"] == pytest.approx(1.02 * 7 / 8 - 1, abs=0.01)
    assert out["drift"]["median"] == pytest.approx(1.02 * 1.15 - 1, abs=0.03)
    assert out["error_corrected"]["lo"] <= out["error_corrected"]["median"] <= out["error_corrected"]["hi"]
    assert out["error_corrected"]["coverage"] == 0.95
    again = pooled_errors(inpipe, rem, np.array([0, 1, 0]), cold_tab, sim, resamples=200)
    assert again == out  # seeded: deterministic
    assert step_change([0.0] * 5 + [0.5] * 5) == pytest.approx(0.5)
    assert step_change([0.0, 0.0, 3.0, 0.0, 0.0, 0.0]) == 0.0  # one bad round is not a step


def test_run_delay_sums_every_thread_and_gives_a_waited_share(tmp_path):
    from calibration.clock import RunDelay, waited_fraction

    for tid, fields in (("1", "5000 2000000000 3"), ("2", "7 500000000 1")):
        (tmp_path / tid).mkdir()
        (tmp_path / tid / "schedstat").write_text(fields + "\n")
    (tmp_path / "3").mkdir()  # a thread that ended between listdir and open
    delay = RunDelay(str(tmp_path))
    assert delay.read() == pytest.approx(2.5)
    assert RunDelay(str(tmp_path / "none")).read() is None
    assert waited_fraction(1.0, 2.0, 4.0, 2) == pytest.approx(1.0 / 8)
    assert waited_fraction(None, 2.0, 4.0, 2) is None
    real = RunDelay().read()  # this process on Linux: a number of seconds, else None
    assert real is None or real >= 0.0


def test_rounds_record_the_waited_share(tiny):
    _, res, _, _ = tiny
    v = res["pipelines"]["tiny"]
    assert len(v["series_waited_fraction"]) == 3
    assert "waited_fraction" in v and "waited for a CPU" in markdown(res)


def test_pipeline_shapes_are_calibrated_as_the_grids_variant():
    from calibration.validate import calibration_grids, pipeline_shapes

    want = [s for s in pipeline_shapes()["sparse_attention"]]
    grid = calibration_grids(["sparse_attention"], quick=True)["sparse_attention"]
    assert {s["materialised"] for s in grid} == {1}  # one implementation variant per fit
    for s in want:
        assert {**s, "materialised": 1} in grid


def test_short_calls_get_more_cold_samples():
    from calibration.harness import SHORT_COLD_CALLS, cold_calls

    assert cold_calls(1e-4) == SHORT_COLD_CALLS > 1 and cold_calls(1e-2) == 1


def test_a_lone_table_priced_task_is_not_stretched_by_the_device_bandwidth(tiny):
    """Serial pipeline on the table-priced CPU: makespan = sum of the table's prices (the
    device bandwidth is at least what any calibrated call reached)."""
    from calibration.validate import simulate_pipeline
    from hetsim.costs.tables import read_table
    from hetsim.graph import task_of

    table_path, _, _, d = tiny
    data = json.loads(table_path.read_text())
    for p in data["kernels"]["elementwise"]["points"]:  # a slow streaming kernel: the
        p["median_s"] *= 1e3  # device bandwidth must still cover the GEMMs' measured rate
        p["cold_s"] *= 1e3
    slow = d / "slow_stream.json"
    slow.write_text(json.dumps(data))
    table = read_table(slow)
    tasks = [{"name": f"g{i}", "step": "model", "kernel": "gemm", "shape": s} for i, s in enumerate(GEMMS)]
    edges = [{"from": "g0", "to": "g1", "bytes": 0}, {"from": "g1", "to": "g2", "bytes": 0}]
    graph = build_workload("custom", {"tasks": tasks, "edges": edges})
    sim, _ = simulate_pipeline(graph, table)
    prices = [table.predict("gemm", dict(task_of(graph, n).shape))[0] for n in graph.nodes]
    assert sim == pytest.approx(sum(prices), rel=1e-9)


def test_block_bootstrap_resamples_runs_of_consecutive_rounds():
    import numpy as np

    from calibration.rounds import _block_indices

    idx = _block_indices(np.random.default_rng(0), 10, 3)
    assert len(idx) == 10 and idx.min() >= 0 and idx.max() < 10
    for start in range(0, 9, 3):  # each block is consecutive rounds (circular)
        a, b = idx[start], idx[start + 1]
        assert b == (a + 1) % 10
    assert (_block_indices(np.random.default_rng(0), 4, 1) < 4).all()


def test_each_block_of_rounds_runs_on_its_own_allocation(tiny):
    import numpy as np

    from calibration.rounds import _grouped_indices, allocation_of_round
    from calibration.stats import block_bounds

    table, _, _, _ = tiny
    tasks = [{"name": f"g{i}", "step": "model", "kernel": "gemm", "shape": s} for i, s in enumerate(GEMMS)]
    graph = build_workload("custom", {"tasks": tasks, "edges": [{"from": "g0", "to": "g1", "bytes": 0}]})
    res = validate_rounds(table, rounds=4, graphs={"two": graph}, allocations=2)
    v = res["pipelines"]["two"]
    assert v["allocations"] == 2 and len(v["series"]["measured_s"]) == 4
    # the default: one allocation per batch-means block, consecutive rounds
    assert [allocation_of_round(r, 10, 5) for r in range(10)] == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert block_bounds(10) == [0, 2, 4, 6, 8, 10] and block_bounds(7, 5) == [0, 2, 5, 7]
    assert [allocation_of_round(r, 7, 3) for r in range(7)] == [0, 0, 1, 1, 1, 2, 2]
    idx = _grouped_indices(np.random.default_rng(1), 6, 3, 3)  # 3 allocations x 2 rounds
    assert len(idx) == 6 and all(idx[k] // 2 == idx[k + 1] // 2 for k in (0, 2, 4))


def test_a_copied_allocation_holds_the_same_values_in_new_buffers_with_aliases_kept():
    import torch

    from calibration.rounds import _Pass
    from calibration.validate import pipeline_graphs

    g = pipeline_graphs()["rag_dense"]
    sub = g.subgraph(list(g.nodes)[:6]).copy()
    p = _Pass(sub, "cpu", torch, 0)
    q = p.copy()
    ptr = lambda t: t.untyped_storage().data_ptr()  # noqa: E731
    src = {(n, k): v for n, ins in p.inputs.items() for k, v in ins.items() if isinstance(v, torch.Tensor)}
    dst = {(n, k): v for n, ins in q.inputs.items() for k, v in ins.items() if isinstance(v, torch.Tensor)}
    assert src.keys() == dst.keys() and src
    old = {ptr(v) for v in src.values()}
    for key, v in src.items():
        w = dst[key]
        assert torch.equal(v, w) and ptr(w) not in old and w.stride() == v.stride()
    for a in src:  # two inputs sharing a buffer (a wired edge) still share it in the copy
        for b in src:
            assert (ptr(src[a]) == ptr(src[b])) == (ptr(dst[a]) == ptr(dst[b]))
    assert q.data_edges == p.data_edges and len(q.calls) == len(p.calls)
    q.touch(1)


def _two_pipelines():
    """Two tiny GEMM pipelines: one task, and two tasks joined by a wired edge."""
    tasks = [{"name": f"g{i}", "step": "model", "kernel": "gemm", "shape": s} for i, s in enumerate(GEMMS)]
    return (build_workload("custom", {"tasks": tasks[:1], "edges": []}),
            build_workload("custom", {"tasks": tasks[1:], "edges": [{"from": "g1", "to": "g2", "bytes": 0}]}))


def test_pipelines_rounds_interleave_and_span_the_run(tiny):
    table, _, _, _ = tiny
    one, two = _two_pipelines()
    seen = []
    res = validate_rounds(table, rounds=3, graphs={"a": one, "b": two}, allocations=1,
                          on_round=lambda name, r: seen.append((name, r)))
    assert seen == [("a", 0), ("b", 0), ("a", 1), ("b", 1), ("a", 2), ("b", 2)]
    a, b = (res["pipelines"][k]["series"]["started_s"] for k in "ab")
    assert all(a[r] < b[r] < a[r + 1] for r in range(2)) and b[1] < a[2] < b[2]
    for k in "ab":  # each pipeline's rounds span the run, not its own half of it
        v = res["pipelines"][k]
        assert v["rounds_span_s"] == pytest.approx(v["series"]["started_s"][-1] - v["series"]["started_s"][0])
    assert res["pipelines"]["a"]["rounds_span_s"] > b[0] - a[0]
    assert len(res["probes"]["runs"]) == 3  # start, middle, end


def test_allocations_are_copied_before_their_block_and_the_old_one_freed(tiny, monkeypatch):
    """Only the first allocation is built before round 0; each next one is copied from the
    current one just before its block of rounds, with its own evicting stream, and the
    current one is freed then (at most two alive)."""
    import calibration.rounds as R

    table, _, _, _ = tiny
    tasks = [{"name": f"g{i}", "step": "model", "kernel": "gemm", "shape": s} for i, s in enumerate(GEMMS)]
    g = build_workload("custom", {"tasks": tasks[:2], "edges": []})
    built, copied, released, evictors, seen = [], [], [], [], []
    real_init, real_copy, real_release = R._Pass.__init__, R._Pass.copy, R._Pass.release
    import calibration.clock as C
    real_ev = C.Evictor.__init__

    def init(self, *a, **k):
        built.append(len(seen))
        real_init(self, *a, **k)

    def copy(self):
        copied.append(len(seen))
        return real_copy(self)

    def release(self):
        released.append(len(seen))
        real_release(self)

    def ev(self, *a, **k):
        evictors.append(len(seen))
        real_ev(self, *a, **k)

    monkeypatch.setattr(R._Pass, "__init__", init)
    monkeypatch.setattr(R._Pass, "copy", copy)
    monkeypatch.setattr(R._Pass, "release", release)
    monkeypatch.setattr(C.Evictor, "__init__", ev)
    res = R.validate_rounds(table, rounds=6, graphs={"a": g}, allocations=3, processes=False,
                            on_round=lambda name, r: seen.append(r))
    # round r's on_round fires before the round: a copy made for round 2 sees 3 rounds begun
    assert built == [0] and copied == [3, 5] and released[:2] == [3, 5]
    assert evictors.count(3) == 1 and evictors.count(5) == 1
    v = res["pipelines"]["a"]
    assert v["allocations"] == 3 and v["pooled"]["error_corrected"]["method"].endswith("3 allocations and their rounds")


def test_large_random_inputs_tile_a_prime_block_deterministically():
    import torch

    from calibration.kernels import _common as C

    n = C.TILE_FROM_ELEMS + 12345
    a = C.randn((n // 1024 + 1, 1024), torch.Generator().manual_seed(3), "cpu", torch.float32)
    b = C.randn((n // 1024 + 1, 1024), torch.Generator().manual_seed(3), "cpu", torch.float32)
    assert torch.equal(a, b) and a.shape == (n // 1024 + 1, 1024)
    flat = a.reshape(-1)
    assert torch.equal(flat[:C.TILE_ELEMS], flat[C.TILE_ELEMS:2 * C.TILE_ELEMS])
    assert len({tuple(r[:4].tolist()) for r in a}) == a.shape[0]  # no two rows alike
    assert 0.9 < float(a.std()) < 1.1
    small = C.randn((8, 8), torch.Generator().manual_seed(3), "cpu", torch.float32)
    assert torch.equal(small, torch.randn((8, 8), generator=torch.Generator().manual_seed(3)))


def test_repeat_interval_is_batch_means_over_blocks_of_consecutive_rounds():
    import math

    from calibration.stats import repeat_interval, t_quantile

    assert t_quantile(0.975, 9) == pytest.approx(2.2622, abs=1e-3)
    assert t_quantile(0.975, 4) == pytest.approx(2.7764, abs=1e-3)
    # neighbouring rounds alike (a drift slower than a round): the block means carry the
    # whole spread, so the interval is sqrt(2) x wider than one for 10 independent rounds
    pairs = [0.00, 0.00, 0.03, 0.03, 0.01, 0.01, 0.04, 0.04, 0.02, 0.02]
    ci = repeat_interval(pairs)
    means = [0.0, 0.03, 0.01, 0.04, 0.02]
    assert ci["block_means"] == pytest.approx(means) and ci["median"] == pytest.approx(0.02)
    se = math.sqrt(sum((m - 0.02) ** 2 for m in means) / 4) / math.sqrt(5)
    assert ci["se"] == pytest.approx(se)
    assert ci["repeat_hi"] - ci["median"] == pytest.approx(2.7764 * math.sqrt(2) * se, rel=1e-3)
    # the shown interval: the range four further runs' figures fall in, all at once
    assert ci["hi"] - ci["median"] == pytest.approx(ci["set_factor"] * se, rel=1e-9)
    assert ci["set_factor"] > 2.7764 * math.sqrt(2) and ci["further_runs"] == 4
    assert ci["ci_hi"] - ci["median"] == pytest.approx(2.7764 * se, rel=1e-3)
    iid_se = math.sqrt(sum((x - 0.02) ** 2 for x in pairs) / 9) / math.sqrt(10)
    assert ci["se"] / iid_se == pytest.approx(math.sqrt(2) * math.sqrt(9 / 8), rel=1e-6)
    # the same values alternating (no drift between blocks): a narrower interval; only the
    # time order differs, so an estimator that ignored it could not tell these apart
    alt = repeat_interval([0.00, 0.04, 0.03, 0.01, 0.01, 0.03, 0.04, 0.00, 0.02, 0.02])
    assert alt["median"] == pytest.approx(0.02) and alt["se"] < 0.2 * ci["se"]
    # a slow drift over the run widens it too
    ramp = repeat_interval([0.002 * i for i in range(10)])
    assert ramp["se"] > 0.0 and ramp["hi"] > 0.018
    assert claimable({**ci, "lo": ci["ci_lo"], "hi": ci["ci_hi"]})
    assert not claimable(repeat_interval([0.04 * (i // 2) for i in range(10)]))
    few = repeat_interval([0.01, 0.02, 0.03, 0.04, 0.05])  # 2 blocks: no interval claimed
    assert few["coverage"] is None and not claimable(few)


def _round_counting_calls_of(state, i: int) -> int:
    """Run round 0 of *state* and return how many times task *i*'s call ran in it."""
    ran = [0]
    call = state.passes[0].calls[i]

    def counted():
        ran[0] += 1
        return call()

    state.passes[0].calls[i] = counted
    state.round(0)
    return ran[0]


def _planned_calls(state) -> dict[int, int]:
    """Task index -> single calls its round-0 re-measurement plans (the state's rng is seeded 0)."""
    chunks = chunk_plan_of(state)
    return {i: sum(c for chunk in chunks for k, c in chunk if k == i) for i in range(len(state.ncold))}


def _four_task_graph():
    """a -> big -> c -> d, GEMMs; big moves 1 MiB + 3 KiB (2-byte elements), a stream for a
    1 MiB evictor; and the grid that measures their shapes."""
    big = {"m": 1, "k": 1024, "n": 512}
    small = {"m": 1, "k": 64, "n": 64}
    mid = {"m": 1, "k": 512, "n": 64}
    tasks = [{"name": "a", "step": "model", "kernel": "gemm", "shape": small},
             {"name": "big", "step": "model", "kernel": "gemm", "shape": big},
             {"name": "c", "step": "model", "kernel": "gemm", "shape": mid},
             {"name": "d", "step": "model", "kernel": "gemm", "shape": small}]
    edges = [{"from": "a", "to": "big", "bytes": 0}, {"from": "big", "to": "c", "bytes": 0},
             {"from": "c", "to": "d", "bytes": 0}]
    return build_workload("custom", {"tasks": tasks, "edges": edges}), {"gemm": [small, big, mid]}


def test_task_priced_and_remeasured_in_its_context_the_predecessor_chain_replayed(tmp_path):
    import dataclasses

    from calibration.contexts import context_extra_s, windows
    from calibration.rounds import _PipelineRounds
    from calibration.validate import simulate_pipeline
    from hetsim.costs.tables import read_table

    graph, grids = _four_task_graph()
    mid = grids["gemm"][2]
    # the window walks back until its tasks move the evictor's bytes (then no evictor first)
    # or the pass starts (then the evictor runs first, as every pass starts after it)
    assert windows(graph, 1 << 20) == {1: ([0], True), 2: ([1], False), 3: ([1, 2], False)}
    assert windows(graph, 4 << 20) == {1: ([0], True), 2: ([0, 1], True), 3: ([0, 1, 2], True)}
    path = tmp_path / "t.json"
    calibrate("cpu", kernels=["gemm"], quick=True, out=path, progress=False, threads=1, repeats=3,
              rotate_bytes=1 << 20, grids=grids, probes=False, pipelines={"p": graph},
              prefix_below_s=0)  # byte windows only (the prefix rule: the next test)
    table = read_table(path)
    entries = table.data["contexts"]
    assert len(entries) == 3  # one per distinct (context, task)
    by_task = {(len(e["context"]), e["consumer"]["shape"]["k"]): e for e in entries}
    entry = by_task[(1, 512)]  # c after big
    assert entry["context"][0]["shape"]["k"] == 1024 and not entry["evict_first"]
    assert entry["factor"] == pytest.approx(entry["cold_in_context_s"] / entry["cold_after_evict_s"])
    for e in entries:
        e["factor"] = 1.0
    entry["factor"] = 3.0  # a factor far from 1 shows where it is used
    cold_c = table.predict("gemm", mid)[0]
    assert context_extra_s(graph, table) == pytest.approx(2.0 * cold_c)
    plain = dict(table.data)
    plain.pop("contexts")
    table_plain = dataclasses.replace(table, data=plain)
    assert simulate_pipeline(graph, table)[0] == pytest.approx(simulate_pipeline(graph, table_plain)[0] + 2.0 * cold_c)
    state = _PipelineRounds("p", graph, table, "cpu", torch, 1, 1, 1 << 20, allocations=1)
    assert state.cold_tab[2] == pytest.approx(3.0 * cold_c)
    assert state.context_extra_s == pytest.approx(2.0 * cold_c)
    ran = _round_counting_calls_of(state, 1)
    # every pass runs big once, its own re-measurement its single calls, and every single
    # call of c's and d's re-measurement replays it first (their windows hold it)
    planned = _planned_calls(state)
    assert ran == state.npasses + planned[1] + planned[2] + planned[3]
    res = state.result()
    assert {"task": "c", "context": ["big"], "evict_first": False, "factor": 3.0,
            "from_pass_start": False} in res["contexts"]
    assert res["per_task"][2]["table_cold_s"] == pytest.approx(3.0 * cold_c)


def test_short_tasks_are_replayed_from_the_pass_start_and_the_table_says_so(tmp_path):
    from calibration.contexts import prefix, short_tasks, task_factors, windows
    from calibration.rounds import _PipelineRounds
    from hetsim.costs.tables import read_table

    graph, grids = _four_task_graph()
    # the rule: a task priced under the bound gets the evictor and every earlier task
    cold = {0: 1e-4, 1: 5e-3, 2: 1e-3, 3: 3e-3}
    order = {name: i for i, name in enumerate(["a", "big", "c", "d"])}
    short = short_tasks(graph, lambda t: cold[order[t.name]], below_s=2e-3)
    assert short == {0, 2}
    assert windows(graph, 1 << 20, short) == {1: ([0], True), 2: ([0, 1], True), 3: ([1, 2], False)}
    assert prefix(3) == ([0, 1, 2], True)
    assert short_tasks(graph, lambda t: None) == set()  # a task the table does not price keeps its window
    # calibration: every task here is far under 1 s, so every context is the whole prefix
    path = tmp_path / "t.json"
    calibrate("cpu", kernels=["gemm"], quick=True, out=path, progress=False, threads=1, repeats=3,
              rotate_bytes=1 << 20, grids=grids, probes=False, pipelines={"p": graph},
              prefix_below_s=1.0)
    table = read_table(path)
    assert table.data["provenance"]["cold"]["contexts_from_pass_start_below_s"] == 1.0
    entries = table.data["contexts"]
    assert sorted(len(e["context"]) for e in entries) == [1, 2, 3]
    assert all(e["evict_first"] for e in entries)
    # validation and simulation find the prefix contexts by key, with no threshold of their own
    assert {i: (w, f) for i, (w, f, _) in task_factors(graph, table.data, 1 << 20).items()} == \
        {1: ([0], True), 2: ([0, 1], True), 3: ([0, 1, 2], True)}
    state = _PipelineRounds("p", graph, table, "cpu", torch, 1, 1, 1 << 20, allocations=1)
    assert state.contexts[3][:2] == ([0, 1, 2], True)
    ran = _round_counting_calls_of(state, 0)
    # a runs in every pass, in each of its own single calls and before every single call of
    # big, c and d (each replays the pass from its start)
    assert ran == state.npasses + sum(_planned_calls(state).values())
    res = state.result()
    assert [(c["task"], c["context"], c["evict_first"], c["from_pass_start"]) for c in res["contexts"]] == \
        [("big", ["a"], True, True), ("c", ["a", "big"], True, True), ("d", ["a", "big", "c"], True, True)]


@given(ncold=st.lists(st.sampled_from([1, 3, 5, 12]), min_size=1, max_size=30), nchunks=st.integers(1, 8),
       seed=st.integers(0, 2**16))
@settings(max_examples=40, deadline=None)
def test_chunk_plan_spreads_a_tasks_calls_over_the_chunks_and_long_ones_once(ncold, nchunks, seed):
    from calibration.rounds import chunk_plan

    chunks = chunk_plan(np.random.default_rng(seed), ncold, nchunks)
    assert len(chunks) == nchunks
    for i, n in enumerate(ncold):
        where = [c for chunk in chunks for k, c in chunk if k == i]
        if n > 1:  # exactly n calls, in every chunk when n allows, shares within one of each other
            assert sum(where) == n and len(where) == min(n, nchunks)
            assert max(where) - min(where) <= (1 if n >= nchunks else 0)
        else:
            assert where == [1]
    longs = [sum(1 for k, _ in chunk if ncold[k] == 1) for chunk in chunks]
    assert max(longs) - min(longs) <= 1


def test_task_classes_compare_each_round_with_itself():
    """A short task's in-pipeline and single-call times move together from round to round
    (the host's memory phases): the class's error is the median over rounds of the
    within-round ratio (single calls / in-pipeline), so a phase that slows both sides of a
    round cancels; rows without per-round series (older JSON) fall back to pooled medians."""
    import statistics

    phases = [1.0, 3.0, 2.0, 4.0, 5.0]
    ratios = [1.5, 1.5, 1.0, 1.0, 1.0]  # within-round: the single calls match in 3 of 5 rounds
    rows = []
    for k, base in enumerate((1e-4, 1.2e-4)):
        inp = [base * ph for ph in phases for _ in range(2)]  # 2 passes a round
        rem = [base * ph * q for ph, q in zip(phases, ratios)]
        rows.append({"task": f"t{k}", "kernel": "topk", "shape": {"num_items": 7},
                     "in_pipeline_s": statistics.median(inp), "remeasured_cold_s": statistics.median(rem),
                     "table_warm_s": 5e-5, "table_cold_s": 1e-4,
                     "series_in_pipeline_s": inp, "series_remeasured_cold_s": rem})
    (c,) = task_classes(rows)
    assert c["count"] == 2 and c["error_corrected"] == pytest.approx(0.0, abs=1e-12)
    assert c["error_corrected_warm_only"] == pytest.approx(5e-5 / 1e-4 - 1.0)
    # pooled medians of the same samples mix slow and fast rounds: +33% here
    pooled = [{k: v for k, v in r.items() if not k.startswith("series")} for r in rows]
    (c,) = task_classes(pooled)
    assert c["error_corrected"] == pytest.approx(4.0 / 3.0 - 1.0)


@given(bases=st.lists(st.floats(1e-4, 1e-3), min_size=2, max_size=4),
       spread=st.lists(st.floats(0.5, 2.0), min_size=8, max_size=8),
       true=st.floats(0.8, 1.25), rounds=st.integers(3, 8))
@settings(max_examples=60, deadline=None)
def test_task_class_error_compares_each_task_with_itself(bases, spread, true, rounds):
    """Tasks of one class (same kernel and shape) run at different times in their contexts;
    when every task's single calls are *true* x its own in-pipeline time in every round, the
    class's error is true - 1 whatever the tasks' times and the passes' spread. The earlier
    estimator (pooled median of all passes against the median of the tasks' single calls)
    read top-k over 32K items 3 points low this way."""
    import statistics

    passes = len(spread)
    rows = []
    for k, base in enumerate(bases):
        inp, rem = [], []
        for j in range(rounds):
            phase = 1.0 + 0.3 * j
            xs = [base * phase * spread[(q + k) % passes] for q in range(passes)]
            inp += xs
            rem.append(true * statistics.median(xs))
        rows.append({"task": f"t{k}", "kernel": "topk", "shape": {"num_items": 7},
                     "in_pipeline_s": statistics.median(inp), "remeasured_cold_s": statistics.median(rem),
                     "table_warm_s": 5e-5, "table_cold_s": 1e-4,
                     "series_in_pipeline_s": inp, "series_remeasured_cold_s": rem})
    (c,) = task_classes(rows)
    assert c["error_corrected"] == pytest.approx(true - 1.0, rel=1e-9, abs=1e-12)


def test_task_class_of_unequal_tasks_example():
    """The case that showed the bias: three tasks, the third 30% slower, single calls equal to
    their in-pipeline times; the old pooled estimator read it about -5% here."""
    rows = []
    for k, base in enumerate((470e-6, 480e-6, 610e-6)):
        inp = [base * (0.8 + 0.05 * q) for q in range(8)] * 2  # 2 rounds of 8 passes
        med = sorted(inp[:8])[3] / 2 + sorted(inp[:8])[4] / 2
        rows.append({"task": f"L{k}.topk", "kernel": "topk", "shape": {"num_items": 32769},
                     "in_pipeline_s": med, "remeasured_cold_s": med, "table_warm_s": 1e-4,
                     "table_cold_s": 1e-4, "series_in_pipeline_s": inp, "series_remeasured_cold_s": [med, med]})
    (c,) = task_classes(rows)
    assert c["error_corrected"] == pytest.approx(0.0, abs=1e-12)
    pooled_in = sorted(x for r in rows for x in r["series_in_pipeline_s"][:8])
    old = sorted(r["remeasured_cold_s"] for r in rows)[1] / ((pooled_in[11] + pooled_in[12]) / 2) - 1.0
    assert old < -0.02  # what the old estimator said


def test_each_block_of_rounds_runs_in_its_own_child_process(tiny):
    """On a CPU each batch-means block of rounds runs in a fresh child process (the pipelines
    built there), so a per-process effect is what the block means differ by; the pipelines'
    rounds still interleave inside a block and the records merge in time order."""
    import os

    table, _, _, _ = tiny
    one, two = _two_pipelines()
    seen = []
    res = validate_rounds(table, rounds=4, graphs={"a": one, "b": two}, allocations=2,
                          on_round=lambda name, r: seen.append((name, r)))
    assert seen == [("a", 0), ("b", 0), ("a", 1), ("b", 1), ("a", 2), ("b", 2), ("a", 3), ("b", 3)]
    a, b = (res["pipelines"][k] for k in "ab")
    pa, pb = a["series"]["process"], b["series"]["process"]
    assert pa == pb and pa[0] == pa[1] != pa[2] == pa[3] and os.getpid() not in pa
    assert a["block_processes"] == 2 and a["allocations"] == 2
    sa, sb = a["series"]["started_s"], b["series"]["started_s"]
    assert all(sa[r] < sb[r] < sa[r + 1] for r in range(3))  # interleaved, in time order
    for v in (a, b):
        assert len(v["series"]["measured_s"]) == 4 and len(v["per_task"][0]["series_in_pipeline_s"]) == 4 * v["passes_per_round"]
        assert len(v["per_task"][0]["series_remeasured_cold_s"]) == 4
    assert len(res["probes"]["runs"]) == 3  # start, after the block holding the middle round, end
    one_proc = validate_rounds(table, rounds=2, graphs={"a": one}, allocations=1, processes=False)
    assert set(one_proc["pipelines"]["a"]["series"]["process"]) == {os.getpid()}


def test_a_stalled_long_call_does_not_decide_its_rounds_remeasurement(tiny, monkeypatch):
    """A long task (re-measured with one call by calibration's rule) gets LONG_REMEASURE_CALLS
    single calls a round, each in its own chunk, and the round keeps their median: one stalled call
    (+200 ms) leaves the round's re-measured time and drift where they were. With one call a
    round (the old rule) the stall is the round's figure."""
    import calibration.harness as H
    import calibration.rounds as R
    from hetsim.costs.tables import read_table

    table, _, _, _ = tiny
    g = build_workload("custom", {"tasks": [{"name": "g0", "step": "model", "kernel": "gemm",
                                              "shape": GEMMS[2]}], "edges": []})
    monkeypatch.setattr(H, "cold_calls", lambda per_call_s: 1)  # price it as a long call
    state = R._PipelineRounds("p", g, read_table(table), "cpu", torch, 1, 1, 1 << 20, allocations=1)
    assert state.ncold == [R.LONG_REMEASURE_CALLS] and R.LONG_REMEASURE_CALLS >= 3
    chunks = chunk_plan_of(state)
    per_chunk = [sum(c for k, c in chunk if k == 0) for chunk in chunks]
    assert sorted(per_chunk) == [0] * (state.npasses - 1 - R.LONG_REMEASURE_CALLS) + [1] * R.LONG_REMEASURE_CALLS
    calls = []

    def timed(clock, evict, fn, ctx, first):
        calls.append(1)
        return 1e-3 + (0.2 if len(calls) == 1 else 0.0)  # the round's first single call stalls

    monkeypatch.setattr(R, "cold_in_context", timed)
    state.round(0)
    assert len(calls) == R.LONG_REMEASURE_CALLS
    assert state.remeasured[0] == [pytest.approx(1e-3)]
    assert state.drifts[0] == pytest.approx(1e-3 / state.cold_tab[0] - 1.0)


def chunk_plan_of(state):
    from calibration.rounds import chunk_plan

    return chunk_plan(np.random.default_rng(0), state.ncold, state.npasses - 1)
