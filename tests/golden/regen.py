"""Regenerate tests/golden/scenarios.json: python tests/golden/regen.py

Each built-in scenario is stored fully resolved (devices and links inline, as GenZ's golden
tests build their systems from explicit numbers), so refining a preset in device_models/
does not move the golden values; a change to the cost models, workloads or engine does. Run
this only when such a change is meant to move results; the diff shows every number that
moved, for review in the commit.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from hetsim import catalog
from hetsim.loader import load_scenario
from hetsim.simulation import run_scenario

OUT = Path(__file__).with_name("scenarios.json")
MAPPINGS = ("gpu-only", "hetero")
KEYS = ("makespan_s", "energy_j", "memory_processing_fraction", "tasks")


def golden() -> tuple[dict, dict]:
    results, scenarios = {}, {}
    for path in sorted(catalog.scenario_dir().glob("*.yaml")):
        sc = load_scenario(path)
        scenarios[path.stem] = sc.model_dump(mode="json")
        results[path.stem] = {}
        for m in (*MAPPINGS, sc.mapping.policy):
            r = run_scenario(sc, mapping=m).result
            results[path.stem][m] = {k: r[k] for k in KEYS}
    return results, scenarios


if __name__ == "__main__":
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    doc = {"_header": {"what": "results of every built-in scenario under gpu-only, hetero and its own mapping",
                       "regenerate": "python tests/golden/regen.py", "commit": commit}}
    doc["scenarios"], doc["resolved"] = golden()
    OUT.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT}")
