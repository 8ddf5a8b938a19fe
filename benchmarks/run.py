"""hetsim speed benchmarks: every figure beside a reference measured in the same process.

Run: ``python benchmarks/run.py [--quick] [--json] [--baseline-tree DIR] [--only a,b]``

Sections (keys of the ``--json`` output; every value is a flat dict with stable keys):

* ``engine.<graph>`` — one fresh process per graph (so ``peak_rss_MB`` is that graph's):
  DSA decode scaled in layers x micro-batches (``dsa_1k`` ... ``dsa_1m``) and a wide random
  DAG (``wide_10k``, ``wide_100k``), all on the GPU. Times of the fast and SimPy engine paths
  (``simulate()``, tasks/s), and of two references on the same graph in the same process,
  interleaved: ``networkx.dag_longest_path`` and a bare SimPy loop with one ``Resource`` per
  engine pool (a task waits for its predecessors, holds one engine for its duration). Ratios
  ``*_vs_nx`` and ``*_vs_bare_simpy`` are time / reference time (< 1 = faster). With
  ``--baseline-tree DIR`` the same graph also runs on DIR's engine (e.g. a checkout of main)
  in a subprocess with its own bare-SimPy reference; ``simpy_speedup_vs_baseline`` is
  (baseline / its bare SimPy) / (this SimPy path / its bare SimPy). 1M tasks only without
  ``--quick``.
* ``cli_run`` — ``hetsim run`` on the default scenario as a whole process (``--json``, the
  full output files), median of 3, beside ``python -c 'import hetsim.simulation'``, and
  beside the same run with ``HETSIM_PLOT_WORKER=inline`` (``ratio_vs_inline_plot``: what the
  forked plot worker saves; about 1 when no core is idle, since it then draws in process).
* ``whatif`` — one default-scenario run in a warm process, beside ``dag_longest_path`` of
  its graph.
* ``decode`` — DeepSeek-V3.2 DSA decode, 61 layers x 1,000 tokens x batch 8 at 128K context,
  fast-forwarded; and a decode short enough to simulate in full, fast-forwarded vs full
  (relative differences of makespan and energy). Device memory is raised in these runs
  (``BENCH_SYSTEM``) so that graphs of any size fit: they measure speed, not feasibility.
* ``rss_1m_context`` — peak RSS of a 1M-token-context decode step (fresh process).
* ``report`` / ``sweep`` — from ``benchmarks/bench_report.py`` / ``bench_sweep.py`` when
  present (they expose ``run(quick) -> dict``); skipped otherwise.

Absolute times on a shared 2-core machine are noisy: quote the ratios. ``calib_loop_s``
(a fixed 2M-iteration Python loop, timed in each process) says how loaded the machine was;
engine cases also give the process's CPU time (``*_cpu_s``, ``*_tasks_per_cpu_s``), which
a loaded machine inflates less than wall time.

The fast path's compiled loop (numba) is warmed up on a tiny graph before timing; its
one-off costs are reported apart: ``jit_load_s`` per engine case (import + cached code), and
section ``jit`` (compile into an empty cache, then load from it, each in a fresh process).
``fast_*`` is the loop the fast path takes by default at that size (``fast_loop``),
``fast_python_*`` / ``fast_compiled_*`` the other one forced, and
``fast_with_records_vs_nx`` adds reading every record (the compiled loop makes them lazily).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

#: The default scenario's devices with memory raised so any benchmark graph fits
#: (a what-if for timing only; 1 PB is no real device).
BENCH_SYSTEM = {
    "devices": [{"preset": "mi210", "name": "gpu", "overrides": {"memory": {"capacity_bytes": 1e15}}},
                {"preset": "u55c", "name": "fpga", "overrides": {"memory": {"capacity_bytes": 1e15}}}],
    "links": [{"preset": "p2p-host-jump", "between": ["gpu", "fpga"], "name": "p2p"}],
}

#: name -> (kind, size parameters, tasks ~, quick?)
GRAPHS = {
    "dsa_1k": ("dsa", {"num_layers": 61, "micro_batches": 1}, True),
    "dsa_10k": ("dsa", {"num_layers": 61, "micro_batches": 13}, True),
    "dsa_100k": ("dsa", {"num_layers": 61, "micro_batches": 130}, True),
    "dsa_1m": ("dsa", {"num_layers": 610, "micro_batches": 130}, False),
    "wide_10k": ("wide", {"width": 1000, "depth": 10}, True),
    "wide_100k": ("wide", {"width": 1000, "depth": 100}, False),
}


def calib_loop() -> float:
    t = time.perf_counter()
    s = 0
    for i in range(2_000_000):
        s += i
    return time.perf_counter() - t


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# --------------------------------------------------------------------------- engine cases

def _scenario(params: dict):
    from hetsim.loader import scenario_from_dict

    return scenario_from_dict({"name": "bench", "system": BENCH_SYSTEM,
                               "workload": {"name": "dsa_decode", "params": params},
                               "mapping": {"policy": "gpu-only"}}, str(ROOT / "bench.yaml"))


def build_case(kind: str, size: dict):
    """(graph with transfers, system, mapping) of one benchmark graph, all tasks on the GPU."""
    from hetsim.graph import add_edge, add_task, new_graph
    from hetsim.mapping.registry import map_graph
    from hetsim.mapping.transfers import insert_transfers
    from hetsim.workloads.registry import build_workload

    if kind == "dsa":
        mb = size["micro_batches"]
        params = {"context_len": 4096, "batch": max(8, mb), **size}
        sc = _scenario(params)
        graph = build_workload("dsa_decode", params)
    else:  # wide: `depth` levels of `width` tasks, each fed by two random tasks of the level above
        sc = _scenario({"num_layers": 1})
        rng = random.Random(12)
        graph = new_graph("wide")
        w, d = size["width"], size["depth"]
        for lv in range(d):
            for i in range(w):
                n = f"v{lv:04d}.{i:05d}"
                add_task(graph, n, "model", "gemm", {"m": 1 + (i % 4), "k": 512, "n": 512})
                if lv:
                    for j in {rng.randrange(w), rng.randrange(w)}:
                        add_edge(graph, f"v{lv - 1:04d}.{j:05d}", n, 1024)
    m = map_graph("gpu-only", graph, sc.system, {})
    return insert_transfers(graph, m), sc.system, m


def bare_simpy(graph, system, mapping, durations) -> None:
    """Reference: one SimPy process per task, one Resource per engine pool or channel."""
    import simpy

    env = simpy.Environment()
    res = {}
    for d in system.devices:
        res[d.name] = simpy.Resource(env, capacity=d.engines[0].count)
    done = {n: env.event() for n in graph.nodes}

    def proc(n, r, dur):
        preds = [done[p] for p in graph.predecessors(n)]
        if preds:
            yield simpy.AllOf(env, preds)
        with r.request() as req:
            yield req
            yield env.timeout(dur)
        done[n].succeed()

    link = simpy.Resource(env, capacity=1)
    for n in graph.nodes:
        dev = mapping.assignment.get(n)
        env.process(proc(n, res[dev] if dev else link, durations[n]))
    env.run()


def engine_case(kind: str, size: dict, repeats: int, with_simpy: bool, engines: tuple) -> dict:
    """Time one graph in this process (also run under --baseline-tree's code)."""
    import inspect

    import networkx as nx

    from hetsim.costs import CostModel
    from hetsim.engine import simulate
    from hetsim.graph import task_of
    from hetsim.topology import Topology

    t0 = time.perf_counter()
    gx, system, m = build_case(kind, size)
    build_s = time.perf_counter() - t0
    n = gx.number_of_nodes()
    costs, topo = CostModel(), Topology(system)
    devices = {d.name: d for d in system.devices}
    durations = {}
    for v in gx.nodes:
        t = task_of(gx, v)
        durations[v] = (topo.route_time_s(t.src, t.dst, t.nbytes) if t.is_transfer
                        else costs.price(t, devices[m.assignment[v]]).latency_s)
    has_engine_kw = "engine" in inspect.signature(simulate).parameters
    out = {"tasks": n, "build_s": build_s}
    loops = _fast_loops(n) if "fast" in engines else {}
    if "fast" in engines and _compiled_available():
        out["jit_load_s"] = _jit_warmup()  # numba import + cached machine code, timed apart
    if "fast" in engines:
        out["fast_loop"] = "compiled" if _uses_compiled(n) else "python"
    times: dict[str, list] = {k: [] for k in ("nx", "bare_simpy", *engines, *loops, "fast_records")}
    cpu: dict[str, list] = {k: [] for k in ("nx", *engines)}  # this process's CPU time
    for _ in range(repeats):  # interleaved, so drift hits all alike
        t, c = time.perf_counter(), time.process_time()
        nx.dag_longest_path(gx)
        times["nx"].append(time.perf_counter() - t)
        cpu["nx"].append(time.process_time() - c)
        if with_simpy:
            t = time.perf_counter()
            bare_simpy(gx, system, m, durations)
            times["bare_simpy"].append(time.perf_counter() - t)
        for e in engines:
            if e == "simpy" and not with_simpy:
                continue
            kw = {"engine": e} if has_engine_kw and e != "baseline" else {}
            t, c = time.perf_counter(), time.process_time()
            tr = simulate(gx, system, m, CostModel(), **kw)
            times[e].append(time.perf_counter() - t)
            cpu[e].append(time.process_time() - c)
            if e == "fast":  # the compiled loop makes Record objects when first read
                t = time.perf_counter()
                len(list(tr.records))
                times["fast_records"].append(time.perf_counter() - t)
            del tr
        for loop, env in loops.items():  # both loops of the fast path, forced
            with _env(HETSIM_COMPILED_MIN_TASKS=env):
                t = time.perf_counter()
                simulate(gx, system, m, CostModel(), engine="fast")
                times[loop].append(time.perf_counter() - t)
    out["calib_loop_s"] = calib_loop()
    for k, v in times.items():
        if v:
            out[f"{k}_s"] = statistics.median(v)
            out[f"{k}_tasks_per_s"] = n / out[f"{k}_s"]
    for k, v in cpu.items():  # on a loaded machine, CPU time is closer to an idle run's wall
        if v:
            out[f"{k}_cpu_s"] = statistics.median(v)
            out[f"{k}_tasks_per_cpu_s"] = n / out[f"{k}_cpu_s"]
    if "fast_records_s" in out:
        out["fast_with_records_vs_nx"] = (out["fast_s"] + out.pop("fast_records_s")) / out["nx_s"]
        out.pop("fast_records_tasks_per_s")
    for e in (*engines, *loops):
        if f"{e}_s" in out:
            out[f"{e}_vs_nx"] = out[f"{e}_s"] / out["nx_s"]
            if "bare_simpy_s" in out:
                out[f"{e}_vs_bare_simpy"] = out[f"{e}_s"] / out["bare_simpy_s"]
    out["peak_rss_MB"] = peak_rss_mb()
    return out


def _fast_loops(n: int) -> dict[str, str]:
    """The fast path's other loop, timed beside the one it takes by default (name ->
    HETSIM_COMPILED_MIN_TASKS value that forces it); not the pure-Python loop at 1M tasks."""
    try:
        from hetsim.engine import compiled
    except ImportError:  # a baseline tree without the compiled loop
        return {}
    loops = {}
    default_compiled = _uses_compiled(n)
    if n < 500_000 and default_compiled:
        loops["fast_python"] = str(10**12)
    if compiled.available() and not default_compiled:
        loops["fast_compiled"] = "0"
    return loops


def _compiled_available() -> bool:
    try:
        from hetsim.engine import compiled
    except ImportError:
        return False
    return compiled.available()


def _uses_compiled(n: int) -> bool:
    from hetsim.engine.run import use_compiled

    return use_compiled(n)


class _env:
    """Set environment variables for a block."""

    def __init__(self, **kw):
        self.kw, self.old = kw, {}

    def __enter__(self):
        for k, v in self.kw.items():
            self.old[k] = os.environ.get(k)
            os.environ[k] = v

    def __exit__(self, *exc):
        for k, v in self.old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _jit_warmup() -> float:
    """Run the compiled loop once on a tiny graph: numba's import plus loading (or, with an
    empty cache, compiling) its machine code, which a process pays once."""
    from hetsim.costs import CostModel
    from hetsim.engine import simulate
    from hetsim.mapping.registry import map_graph
    from hetsim.workloads.registry import build_workload

    sc = _scenario({"num_layers": 2})
    g = build_workload("dsa_decode", {"num_layers": 2})
    m = map_graph("hetero", g, sc.system, {})
    from hetsim.mapping.transfers import insert_transfers

    gx = insert_transfers(g, m)
    t = time.perf_counter()
    with _env(HETSIM_COMPILED_MIN_TASKS="0"):
        for policy in ("fifo", "critical-path-first"):
            simulate(gx, sc.system, m, CostModel(), engine="fast", queue_policy=policy)
    return time.perf_counter() - t


def jit_section() -> dict:
    """numba's one-off costs, each in a fresh process: compiling into an empty cache, then
    loading from that cache (what every later process pays once, before its first run)."""
    with tempfile.TemporaryDirectory() as d:
        env = {**os.environ, "NUMBA_CACHE_DIR": d}
        out = {}
        for key in ("compile_cold_s", "load_cached_s"):
            p = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--jit-case"],
                               capture_output=True, text=True, env=env, timeout=1200)
            if p.returncode != 0:
                return {"error": (p.stderr.strip().splitlines() or ["?"])[-1]}
            r = json.loads(p.stdout.strip().splitlines()[-1])
            out[key] = r["jit_s"]
            out[key.replace("_s", "_cpu_s")] = r.get("jit_cpu_s")
    return {"jit": out}


def _child(args: list[str], env_path: str | None = None, timeout: float = 3600) -> dict:
    env = dict(os.environ)
    if env_path:
        env["PYTHONPATH"] = env_path
    p = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args], capture_output=True,
                       text=True, env=env, timeout=timeout, cwd=env_path or None)
    if p.returncode != 0:
        return {"error": (p.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(p.stdout.strip().splitlines()[-1])


def engine_section(quick: bool, baseline: str | None, log) -> dict:
    out = {}
    for name, (kind, size, in_quick) in GRAPHS.items():
        if quick and not in_quick:
            continue
        big = name.endswith("1m") or name.endswith("100k")
        repeats = 1 if big or quick else 3
        # the SimPy paths of 100K tasks take minutes on a loaded machine: full mode only
        with_simpy = not name.endswith("1m") and not (quick and big)
        log(f"engine {name} ...")
        res = _child(["--case", json.dumps([kind, size, repeats, with_simpy, ["fast", "simpy"]])])
        if baseline and with_simpy and not (quick and big):
            log(f"engine {name} on baseline {baseline} ...")
            old = _child(["--case", json.dumps([kind, size, repeats, True, ["baseline"]])], baseline)
            if "error" not in old and "simpy_vs_bare_simpy" in res:
                res["baseline_s"] = old["baseline_s"]
                res["baseline_vs_bare_simpy"] = old["baseline_vs_bare_simpy"]
                res["simpy_speedup_vs_baseline"] = old["baseline_vs_bare_simpy"] / res["simpy_vs_bare_simpy"]
                res["fast_speedup_vs_baseline"] = old["baseline_vs_bare_simpy"] / res["fast_vs_bare_simpy"]
            else:
                res["baseline_error"] = old.get("error", "no ratio")
        out[f"engine.{name}"] = res
    return out


# --------------------------------------------------------------------------- whole runs

def cli_section(quick: bool) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = []
    ref = []
    inline = []  # the PNG drawn in process (no plot worker), interleaved for a paired ratio
    with tempfile.TemporaryDirectory() as d:
        for _ in range(3):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "hetsim.cli", "run", "--json", "--out", d],
                           env=env, capture_output=True, check=True, cwd=ROOT)
            runs.append(time.perf_counter() - t)
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "hetsim.cli", "run", "--json", "--out", d],
                           env={**env, "HETSIM_PLOT_WORKER": "inline"}, capture_output=True, check=True,
                           cwd=ROOT)
            inline.append(time.perf_counter() - t)
            t = time.perf_counter()
            subprocess.run([sys.executable, "-c", "import hetsim.simulation"], env=env, check=True, cwd=ROOT)
            ref.append(time.perf_counter() - t)
    return {"cli_run": {"run_s": statistics.median(runs), "import_reference_s": statistics.median(ref),
                        "ratio_vs_import": statistics.median(runs) / statistics.median(ref),
                        "run_inline_plot_s": statistics.median(inline),
                        "ratio_vs_inline_plot": statistics.median(runs) / statistics.median(inline)}}


def whatif_section(quick: bool) -> dict:
    import networkx as nx

    from hetsim.loader import load_scenario
    from hetsim.simulation import run_scenario

    sc = load_scenario(None)
    out = run_scenario(sc)  # warm-up: imports, tables
    runs, ref = [], []
    for _ in range(3 if quick else 7):
        t = time.perf_counter()
        out = run_scenario(sc)
        runs.append(time.perf_counter() - t)
        t = time.perf_counter()
        nx.dag_longest_path(out.graph)
        ref.append(time.perf_counter() - t)
    r, x = statistics.median(runs), statistics.median(ref)
    return {"whatif": {"run_s": r, "tasks": out.result["tasks"], "nx_longest_path_s": x,
                       "ratio_vs_nx": r / x, "engine": out.result.get("engine"),
                       "calib_loop_s": calib_loop()}}


def decode_section(quick: bool) -> dict:
    from hetsim.simulation import run_scenario

    base = {"context_len": 131072, "batch": 8, "num_layers": 61}
    res = {}
    sc = _scenario({**base, "decode_steps": 1000})
    t = time.perf_counter()
    r = run_scenario(sc, mapping="hetero", fast_forward="on").result
    res["ff_1000tok_s"] = time.perf_counter() - t
    res["ff_1000tok_makespan_s"] = r["makespan_s"]
    res["ff_1000tok_simulated_tasks"] = r["fast_forward"]["simulated_tasks"]
    res["ff_1000tok_full_tasks"] = r["tasks"]
    steps = 10 if quick else 50
    sc = _scenario({**base, "decode_steps": steps})
    t = time.perf_counter()
    ff = run_scenario(sc, mapping="hetero", fast_forward="on").result
    ff_s = time.perf_counter() - t
    t = time.perf_counter()
    full = run_scenario(sc, mapping="hetero", fast_forward="off").result
    full_s = time.perf_counter() - t
    res.update({"cmp_steps": steps, "cmp_tasks": full["tasks"], "cmp_ff_s": ff_s, "cmp_full_s": full_s,
                "cmp_speedup": full_s / ff_s,
                "cmp_makespan_rel_diff": ff["makespan_s"] / full["makespan_s"] - 1,
                "cmp_energy_rel_diff": ff["energy_j"] / full["energy_j"] - 1,
                "calib_loop_s": calib_loop()})
    return {"decode": res}


def rss_case() -> dict:
    from hetsim.simulation import run_scenario

    sc = _scenario({"context_len": 1 << 20, "batch": 8, "num_layers": 61})
    t = time.perf_counter()
    r = run_scenario(sc, mapping="hetero").result
    return {"context_len": 1 << 20, "run_s": time.perf_counter() - t, "tasks": r["tasks"],
            "peak_rss_MB": peak_rss_mb()}


def optional_section(name: str, quick: bool, log) -> dict:
    path = HERE / f"bench_{name}.py"
    if not path.exists():
        return {}
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    if not hasattr(mod, "run"):
        return {}
    log(f"{name} ...")
    return {name: mod.run(quick)}


SECTIONS = ("engine", "cli", "whatif", "decode", "rss", "report", "sweep")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller graphs, fewer repeats (minutes)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--baseline-tree", default=None, metavar="DIR",
                    help="also time DIR's engine (a checkout of another commit) on the same graphs")
    ap.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated of {', '.join(SECTIONS)}")
    ap.add_argument("--case", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--rss-case", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--jit-case", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.case:
        kind, size, repeats, with_simpy, engines = json.loads(a.case)
        if engines == ["baseline"]:
            if kind == "wide" and size["width"] * size["depth"] > 20_000:
                # main's engine re-sorts every queue on each request: quadratic on wide graphs
                # (42 s for wide_10k on a loaded machine); not worth the wait at 100K
                print(json.dumps({"error": "baseline skipped on wide graphs above 20K tasks"}))
                return 0
            res = engine_case(kind, size, repeats, True, ("baseline",))
        else:
            res = engine_case(kind, size, repeats, with_simpy, tuple(engines))
        print(json.dumps(res))
        return 0
    if a.rss_case:
        print(json.dumps(rss_case()))
        return 0
    if a.jit_case:
        from hetsim.engine import compiled

        if not compiled.available():
            print(json.dumps({"jit_s": None, "jit_cpu_s": None}))
            return 0
        c = time.process_time()
        wall = _jit_warmup()
        print(json.dumps({"jit_s": wall, "jit_cpu_s": time.process_time() - c}))
        return 0

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    only = set(a.only.split(","))
    out: dict = {"quick": a.quick, "python": sys.version.split()[0]}
    if "engine" in only:
        log("jit ...")
        out.update(jit_section())
        out.update(engine_section(a.quick, a.baseline_tree, log))
    if "cli" in only:
        log("cli run ...")
        out.update(cli_section(a.quick))
    if "whatif" in only:
        log("what-if ...")
        out.update(whatif_section(a.quick))
    if "decode" in only:
        log("decode ...")
        out.update(decode_section(a.quick))
    if "rss" in only:
        log("1M-token context ...")
        out["rss_1m_context"] = _child(["--rss-case"])
    for name in ("report", "sweep"):
        if name in only:
            out.update(optional_section(name, a.quick, log))
    if a.json:
        print(json.dumps(out, indent=2, sort_keys=True))
    else:
        for k, v in out.items():
            if isinstance(v, dict):
                print(k)
                for kk, vv in v.items():
                    print(f"  {kk:32s} {vv:.4g}" if isinstance(vv, float) else f"  {kk:32s} {vv}")
            else:
                print(f"{k}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
