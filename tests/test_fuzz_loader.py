"""Fuzzing the scenario loader: random and mutated documents only ever give the documented
validation error (exit code 2, one line naming what is wrong), never a traceback."""

from __future__ import annotations

import copy

import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from hetsim.cli import main

BASE = {
    "name": "fuzz",
    "system": {
        "devices": [
            {"name": "g", "kind": "gpu",
             "memory": {"capacity_bytes": "80 GB", "peak_bandwidth_Bps": "2 TB/s",
                        "achievable_bandwidth_Bps": "1.7 TB/s"},
             "peak_flop_per_s": {"bf16": "312 TFLOP/s"},
             "efficiency": {"default": {"compute": 0.8, "memory": 0.9}},
             "launch_overhead_s": "5 us", "power": {"idle_w": 50, "active_w": 300}},
            {"preset": "u55c", "name": "f"},
        ],
        "links": [{"preset": "p2p-host-jump", "between": ["g", "f"]}],
    },
    "workload": {"name": "custom", "params": {
        "tasks": [{"name": "a", "step": "model", "kernel": "gemm", "shape": {"m": 1, "n": 64, "k": 64}},
                  {"name": "b", "step": "retrieval", "kernel": "topk",
                   "shape": {"batch": 1, "num_items": 4096, "k": 64}}],
        "edges": [{"from": "a", "to": "b", "bytes": 8192}],
        "data": {}}},
    "mapping": {"policy": "gpu-only"},
    "run": {"queue_policy": "fifo"},
    "seed": 0,
}

JUNK = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                 st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
                 st.sampled_from(["-1 GB/s", "5 parsecs", "1e999 W", "", "gpu", "u55c", "nan"]),
                 st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))


def _paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, prefix + (i,))


ALL_PATHS = [p for p in _paths(BASE) if p]


@st.composite
def mutated(draw):
    doc = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(ALL_PATHS))
        parent = doc
        try:
            for k in path[:-1]:
                parent = parent[k]
            op = draw(st.sampled_from(["replace", "delete", "add"]))
            if op == "replace":
                parent[path[-1]] = draw(JUNK)
            elif op == "delete":
                del parent[path[-1]]
            elif isinstance(parent, dict):
                parent[draw(st.text(min_size=1, max_size=6))] = draw(JUNK)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this path
    return doc


def _check(tmp_path_factory, text: str, capsys):
    d = tmp_path_factory.mktemp("fuzz")
    p = d / "s.yaml"
    p.write_text(text)
    code = main(["run", str(p), "--out", str(d / "out")])
    err = capsys.readouterr().err.strip()
    assert code in (0, 2), err
    if code == 2:
        assert err.startswith("hetsim: error: ") and len(err.splitlines()) == 1, err
        assert "Traceback" not in err


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], deadline=None)
@given(mutated())
def test_mutated_scenarios_give_a_clear_error_or_run(tmp_path_factory, capsys, doc):
    _check(tmp_path_factory, yaml.safe_dump(doc), capsys)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], deadline=None)
@given(st.text(max_size=200))
def test_random_text_gives_a_clear_error(tmp_path_factory, capsys, text):
    _check(tmp_path_factory, text, capsys)


def test_the_unmutated_base_runs(tmp_path_factory, capsys):
    _check(tmp_path_factory, yaml.safe_dump(BASE), capsys)
