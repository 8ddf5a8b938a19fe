"""Does a competing CPU-bound process break validation? A synthetic load started midway.

Run: ``python benchmarks/bench_validate_load.py --table out/calibration/cpu.json [--rounds 10]
[--procs 1] [--out out/bench_validate_load]``

Runs the drift-cancelling validation in this process and, when the first pipeline reaches
its middle round, starts ``--procs`` busy-looping Python processes (the synthetic load; they
are stopped by their process ids at the end). The issue's criterion: the drift-corrected
error stays within 5%, or the run is marked unreliable with the reason. Exit status 0 when
that holds for every pipeline, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--table", required=True)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--procs", type=int, default=1, help="busy-loop processes to start midway")
    ap.add_argument("--out", default="out/bench_validate_load")
    args = ap.parse_args()

    from calibration.rounds import validate_rounds

    load: list[subprocess.Popen] = []
    started = {}

    def on_round(name: str, r: int) -> None:
        if not load and r == args.rounds // 2:
            started.update(pipeline=name, round=r + 1)
            for _ in range(args.procs):
                load.append(subprocess.Popen([sys.executable, "-c", "while True: pass"]))

    try:
        res = validate_rounds(args.table, rounds=args.rounds, on_round=on_round)
    finally:
        for p in load:  # only the processes this script started, by their handles
            p.kill()
            p.wait()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "validate_load.json").write_text(json.dumps({"load_started": started, "result": res}, indent=1))
    ok = True
    print(f"synthetic load: {args.procs} busy process(es) from {started.get('pipeline')} round {started.get('round')}")
    for name, v in res["pipelines"].items():
        c = v["error_corrected"]
        within = c["median"] is not None and abs(c["median"]) <= 0.05
        flagged = not v["reliable"] and bool(v["reasons"])
        ok &= within or flagged
        print(f"{name}: corrected {c['median']:+.1%} [{c['lo']:+.1%}, {c['hi']:+.1%}], drift per round "
              f"{', '.join(f'{d:+.0%}' for d in v['series']['drift'])}; waited for a CPU per round "
              f"{', '.join('-' if w is None else f'{w:.0%}' for w in v.get('series_waited_fraction', []))}; "
              f"{'reliable' if v['reliable'] else 'UNRELIABLE: ' + '; '.join(v['reasons'])} -> "
              f"{'ok' if within or flagged else 'FAIL'}")
    print("PASS" if ok else "FAIL", "(criterion: corrected error within 5% or run marked unreliable with a reason)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
