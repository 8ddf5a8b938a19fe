"""Regenerate tests/golden/scenarios.json: python tests/golden/regen.py

Run it only when a change to presets, cost models or the engine is meant to move results;
the diff of the JSON then shows every number that moved, for review in the commit.
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


def golden() -> dict:
    out = {}
    for path in sorted(catalog.scenario_dir().glob("*.yaml")):
        sc = load_scenario(path)
        out[path.stem] = {}
        for m in (*MAPPINGS, sc.mapping.policy):
            r = run_scenario(sc, mapping=m).result
            out[path.stem][m] = {k: r[k] for k in KEYS}
    return out


if __name__ == "__main__":
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    doc = {"_header": {"what": "results of every built-in scenario under gpu-only, hetero and its own mapping",
                       "regenerate": "python tests/golden/regen.py", "commit": commit},
           "scenarios": golden()}
    OUT.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT}")
