"""Size guard: how long an oversized workload takes to be refused, as a ratio to loading it.

Run: ``python benchmarks/bench_size_guard.py [--repeats R]``

Cases: the default DSA scenario with ``num_layers`` 6,100 and 10,000,000 (refused by the
memory check), and 10,000,000 layers of a tiny model (refused by ``run.max_tasks``). Each
answer is timed in-process from reading the scenario file to the error; the baseline is
reading and validating the same file alone (what every command pays anyway), so the ratio
says what the guard adds. Issue 9's target: the 10M-layer case answers in under 2 s
(the whole command, including Python start-up; time it with ``/usr/bin/time hetsim run FILE``).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from hetsim.errors import HetsimError
from hetsim.loader import load_scenario
from hetsim.simulation import run_scenario

TINY = {"hidden_size": 8, "q_lora_rank": 8, "num_heads": 1, "kv_lora_rank": 8, "qk_rope_head_dim": 8,
        "qk_nope_head_dim": 8, "v_head_dim": 8, "index_num_heads": 1, "index_head_dim": 8,
        "context_len": 16}
CASES = {"6,100 layers": {"num_layers": 6100},
         "10M layers": {"num_layers": 10_000_000},
         "10M tiny layers": {"num_layers": 10_000_000, **TINY}}


def scenario(params: dict, d: Path) -> Path:
    doc = {"name": "big", "system": {"devices": [{"preset": "mi210", "name": "gpu"}, {"preset": "u55c", "name": "fpga"}],
                                     "links": [{"preset": "p2p-host-jump", "between": ["gpu", "fpga"]}]},
           "workload": {"name": "dsa_decode", "params": {"context_len": 32768, "batch": 8, **params}},
           "mapping": {"policy": "hetero"}}
    p = d / "big.yaml"
    p.write_text(yaml.safe_dump(doc))
    return p


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=21)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name, params in CASES.items():
            p = scenario(params, Path(tmp))
            guard, load, msg = [], [], ""
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                sc = load_scenario(p)
                load.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                try:
                    run_scenario(load_scenario(p), file=str(p))
                    msg = "ran (not refused)"
                except HetsimError as e:
                    msg = str(e).split(": ", 2)[-1]
                guard.append(time.perf_counter() - t0)
                del sc
            g, b = statistics.median(guard), statistics.median(load)
            print(f"{name:>16}: refused in {g * 1e3:7.2f} ms (median of {args.repeats}), "
                  f"loading alone {b * 1e3:6.2f} ms, ratio {g / b:5.2f}  [{msg[:70]}]")


if __name__ == "__main__":
    main()
