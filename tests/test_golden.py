"""Golden values (after GenZ): every built-in scenario's results, so a change that moves a
number is seen and reviewed. Regenerate with ``python tests/golden/regen.py``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hetsim.config.scenario import Scenario
from hetsim.simulation import run_scenario

GOLDEN = json.loads((Path(__file__).parent / "golden" / "scenarios.json").read_text())
CASES = [(s, m) for s, ms in sorted(GOLDEN["scenarios"].items()) for m in sorted(ms)]


@pytest.mark.parametrize("scenario,mapping", CASES, ids=[f"{s}-{m}" for s, m in CASES])
def test_scenario_matches_golden(scenario, mapping):
    want = GOLDEN["scenarios"][scenario][mapping]
    # the scenario as resolved when the golden values were made: presets may since have moved
    got = run_scenario(Scenario.model_validate(GOLDEN["resolved"][scenario]), mapping=mapping).result
    assert got["tasks"] == want["tasks"]
    for key in ("makespan_s", "energy_j", "memory_processing_fraction"):
        # tolerance: float summation order only; any modelling change must regenerate the file
        assert got[key] == pytest.approx(want[key], rel=1e-9), (key, got[key], want[key])


def test_every_builtin_scenario_has_golden_values():
    from hetsim import catalog

    assert {p.stem for p in catalog.scenario_dir().glob("*.yaml")} == set(GOLDEN["scenarios"])
    assert set(GOLDEN["resolved"]) == set(GOLDEN["scenarios"])
