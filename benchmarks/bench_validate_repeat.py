"""Is hetsim's end-to-end error stable? N back-to-back ``hetsim validate`` runs against one table.

Run: ``python benchmarks/bench_validate_repeat.py --table out/calibration/cpu.json [--runs 5]
[--rounds 10] [--out out/bench_validate]``

Each run is a fresh process (as a user would run it). For every pipeline it prints the
drift-corrected error (the run's figure, the interval a repeat run's figure is expected in and
the 95% confidence interval), the error against the stored table and the drift, then checks
the issue's two criteria:

* every run's drift-corrected median error is within +-5%;
* every run's interval contains the medians of all runs (the run-to-run spread is inside
  the uncertainty each run claims).

Exit status 0 when both hold for every pipeline and run, 1 otherwise (the figures are
printed either way; they go into the note, not a single draw).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

TOLERANCE = 0.05


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


def summarize(results: list[dict]) -> tuple[bool, list[str]]:
    lines, ok = [], True
    names = list(results[0]["pipelines"])
    for name in names:
        meds = [r["pipelines"][name]["error_corrected"]["median"] for r in results]
        lines.append(f"{name}:")
        for i, r in enumerate(results):
            v = r["pipelines"][name]
            c, t, d = v["error_corrected"], v["error_vs_table"], v["drift"]
            inside = all(c["lo"] <= m <= c["hi"] for m in meds)
            within = abs(c["median"]) <= TOLERANCE
            ok &= inside and within
            conf = f" (ci [{c['ci_lo']:+.1%}, {c['ci_hi']:+.1%}])" if "ci_lo" in c else ""
            lines.append(f"  run {i + 1}: corrected {c['median']:+.1%} [{c['lo']:+.1%}, {c['hi']:+.1%}]{conf}  "
                         f"vs table {t['median']:+.1%} [{t['lo']:+.1%}, {t['hi']:+.1%}]  drift {d['median']:+.1%}  "
                         f"waited {_share(v)}  "
                         f"{'within 5%' if within else 'OUTSIDE 5%'}; "
                         f"{'contains' if inside else 'does NOT contain'} all medians; "
                         f"{'reliable' if v['reliable'] else 'unreliable: ' + '; '.join(v['reasons'])}")
        drifts = [r["pipelines"][name]["drift"]["median"] for r in results]
        lines.append(f"  medians over runs: {', '.join(f'{m:+.1%}' for m in meds)} "
                     f"(spread {max(meds) - min(meds):.1%}); drift over runs: "
                     f"{', '.join(f'{d:+.1%}' for d in drifts)}")
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
    print("\n".join(lines))
    print("PASS" if ok else "FAIL", "(criteria: |corrected median| <= 5% in every run; every run's "
          "interval contains every run's median)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
