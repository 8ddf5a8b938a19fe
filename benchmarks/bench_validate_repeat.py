"""Is hetsim's end-to-end error stable? N back-to-back ``hetsim validate`` runs against one table.

Run: ``python benchmarks/bench_validate_repeat.py --table out/calibration/cpu.json [--runs 5]
[--rounds 10] [--out out/bench_validate]``

Each run is a fresh process (as a user would run it). For every pipeline it prints the
drift-corrected error (the run's figure; its interval, the range four further back-to-back runs'
figures are expected in, 95% simultaneous; the 95% confidence interval), the error against the
stored table and the drift, then checks the issue's criteria:

* every run's drift-corrected error is within +-5%;
* every run's interval contains the figures of all runs (the run-to-run spread is inside
  the uncertainty each run claims; a 95% claim, so about one run in twenty misses);
* the attention, top-k and gather task classes within 10% of their in-pipeline times.

It also prints whether the batch-means standard errors cover the runs' actual spread (the
SD of the runs' figures against the root mean square of the standard errors they claimed)
and how many runs the single-repeat interval (``repeat_lo``/``repeat_hi``) would have held.

Exit status 0 when all hold for every pipeline and run, 1 otherwise (the figures are
printed either way; they go into the note, not a single draw).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
from pathlib import Path

TOLERANCE = 0.05
#: Per-task criterion: these task classes within this of their in-pipeline times.
TASK_KERNELS = ("dense_attention", "sparse_attention", "topk", "embedding_gather")
TASK_TOLERANCE = 0.10


def run_once(table: str, rounds: int, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "hetsim.cli", "validate", "--table", table, "--rounds", str(rounds),
           "--out", str(out), "--json"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"validate failed ({res.returncode}): {res.stderr.strip()[-500:]}")
    return json.loads(res.stdout)


def _share(v: dict) -> str:
    w = (v.get("waited_fraction") or {}).get("median")
    return "-" if w is None else f"{w:.1%}"


def task_lines(results: list[dict]) -> tuple[bool, list[str]]:
    """Per run and attention/top-k/gather task class: error of the re-measured price (in its
    context) against the in-pipeline time, and how many are within :data:`TASK_TOLERANCE`."""
    from calibration.rounds import task_classes

    ok, lines, n_in, n_all = True, [], 0, 0
    for i, r in enumerate(results):
        errs = []
        for name, v in r["pipelines"].items():
            for c in task_classes(v["per_task"]):
                if c["kernel"] in TASK_KERNELS:
                    inside = abs(c["error_corrected"]) <= TASK_TOLERANCE
                    n_in, n_all, ok = n_in + inside, n_all + 1, ok and inside
                    tag = ",".join(f"{k}={c['shape'][k]}" for k in ("num_items", "num_keys", "num_queries", "num_rows")
                                   if k in c["shape"])
                    errs.append(f"{c['kernel']}[{tag}] {c['error_corrected']:+.1%}{'' if inside else ' (!)'}")
        lines.append(f"  run {i + 1} tasks: " + "; ".join(errs))
    lines.insert(0, f"attention/top-k/gather task classes within {TASK_TOLERANCE:.0%}: {n_in} of {n_all}")
    return ok, lines


def summarize(results: list[dict]) -> tuple[bool, list[str]]:
    lines, ok = [], True
    names = list(results[0]["pipelines"])
    for name in names:
        meds = [r["pipelines"][name]["error_corrected"]["median"] for r in results]
        lines.append(f"{name}:")
        held = held_repeat = 0
        for i, r in enumerate(results):
            v = r["pipelines"][name]
            c, t, d = v["error_corrected"], v["error_vs_table"], v["drift"]
            inside = all(c["lo"] <= m <= c["hi"] for m in meds)
            held += inside
            held_repeat += "repeat_lo" in c and all(c["repeat_lo"] <= m <= c["repeat_hi"] for m in meds)
            within = abs(c["median"]) <= TOLERANCE
            ok &= inside and within
            conf = f" (ci [{c['ci_lo']:+.1%}, {c['ci_hi']:+.1%}])" if "ci_lo" in c else ""
            lines.append(f"  run {i + 1}: corrected {c['median']:+.1%} [{c['lo']:+.1%}, {c['hi']:+.1%}]{conf}  "
                         f"vs table {t['median']:+.1%} [{t['lo']:+.1%}, {t['hi']:+.1%}]  drift {d['median']:+.1%}  "
                         f"waited {_share(v)}  "
                         f"{'within 5%' if within else 'OUTSIDE 5%'}; "
                         f"{'contains' if inside else 'does NOT contain'} all figures; "
                         f"{'reliable' if v['reliable'] else 'unreliable: ' + '; '.join(v['reasons'])}")
        drifts = [r["pipelines"][name]["drift"]["median"] for r in results]
        lines.append(f"  figures over runs: {', '.join(f'{m:+.1%}' for m in meds)} "
                     f"(spread {max(meds) - min(meds):.1%}); drift over runs: "
                     f"{', '.join(f'{d:+.1%}' for d in drifts)}")
        ses = [r["pipelines"][name]["error_corrected"].get("se") for r in results]
        if len(meds) > 1 and all(x is not None for x in ses):
            sd = statistics.stdev(meds)
            rms = math.sqrt(sum(x * x for x in ses) / len(ses))
            lines.append(f"  between-run SD {sd:.2%} against the runs' claimed se (rms) {rms:.2%} "
                         f"(ratio {sd / rms:.2f}; 1 = the batch-means se is honest); intervals holding "
                         f"all figures: {held} of {len(meds)} (single-repeat intervals: {held_repeat})")
    return ok, lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--table", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--out", default="out/bench_validate")
    args = ap.parse_args()
    results = []
    for i in range(args.runs):
        results.append(run_once(args.table, args.rounds, Path(args.out) / f"run{i + 1}"))
        print(f"run {i + 1}/{args.runs} done", file=sys.stderr)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "runs.json").write_text(json.dumps(results, indent=1))
    ok, lines = summarize(results)
    ok_tasks, tlines = task_lines(results)
    print("\n".join(lines + tlines))
    print("PASS" if ok and ok_tasks else "FAIL", "(criteria: |corrected figure| <= 5% in every run; every "
          "run's interval contains every run's figure; attention/top-k/gather task classes within 10%)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
