"""``hetsim reproduce``: the study's comparison end to end, its ladder and its two study options."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from hetsim import catalog
from hetsim.cli import main
from hetsim.loader import load_scenario
from hetsim.reproduce import (Runner, _comparable, _diff, apply_overrides, availability, load_manifest, load_whatifs,
                              paper_dir, run_family_gpu, validate_doc, whatif_dir)
from hetsim.simulation import run_scenario

FAST = "workload.params.num_layers=1"  # every DSA layer is the same chain: ratios do not change


def test_reproduce_only_dsa_end_to_end(tmp_path, capsys):
    out = tmp_path / "rep"
    assert main(["reproduce", "--only", "dsa", "--set", FAST, "--out", str(out)]) == 0
    data = json.loads((out / "reproduce.json").read_text())
    (fam,) = data["families"]
    assert fam["key"] == "dsa" and fam["available"]
    assert [g["gpu"] for g in fam["gpus"]] == ["mi210", "a100"]
    for g in fam["gpus"]:
        for cfg in ("as_the_study", "tuned"):
            c = g[cfg]
            assert c["speedup"] == pytest.approx(c["gpu_only_s"] / c["hetero_s"])
            assert c["energy_reduction"] == pytest.approx(c["gpu_only_j"] / c["hetero_j"])
            assert 0 < c["memory_processing_fraction"] < 1
            assert set(g["verdict"][cfg]) == {"speedup", "energy_reduction", "memory_processing_fraction"}
        # the ladder starts at as-the-study and its last step is the tuned file
        assert g["ladder"][0]["speedup"] == g["as_the_study"]["speedup"]
        assert g["ladder_reaches_tuned"], g["ladder_mismatch"]
        assert g["ladder"][-1]["speedup"] == pytest.approx(g["tuned"]["speedup"])
        assert g["as_the_study"]["serialized"] and not g["tuned"]["serialized"]
        assert g["as_the_study"]["free_transfers"]["edges"] == 1  # one index-key write per layer
        # every knob of the ladder is a real field of this build
        status = {o["path"]: o["status"] for o in g["study_overrides"]}
        assert status["workload.params.indexer_intermediate"] == "applied"
        assert set(status.values()) == {"applied"}, status
        if g["verdict"]["as_the_study"]["speedup"] != "within":
            assert g["responsible_step"]["step"] in [s["name"] for s in fam["ladder_spec"]]
    report = (out / "report.md").read_text()
    assert "as-the-study" in report and "attribution ladder" in report
    figs = {p.name for p in (out / "figures").iterdir()}
    assert {"speedup_energy.png", "ladder_dsa_mi210.png", "breakdown_dsa_a100.png", "timeline_dsa.png"} <= figs
    for name in figs:  # every figure the report points at exists
        assert f"figures/{name}" in report
    assert "dsa" in capsys.readouterr().out


def test_families_without_their_workload_are_listed_not_dropped():
    _, fams = load_manifest()
    keys = {f.key for f in fams}
    assert {"dsa", "rag_bm25", "seer_attention_r", "lserve_quest", "engram", "moe", "hmt_memagent"} <= keys
    for f in fams:
        why = availability(f)
        if f.scenarios and f.workload in __import__("hetsim.workloads.registry", fromlist=["x"]).workloads():
            assert why is None
        elif f.workload not in __import__("hetsim.workloads.registry", fromlist=["x"]).workloads():
            assert why.startswith("not available in this build")


@pytest.mark.parametrize("key", [f.key for f in load_manifest()[1] if f.scenarios])
def test_every_ladder_ends_at_the_tuned_file(key):
    """Checked without simulating: study file + every step's tuned values == tuned file."""
    _, fams = load_manifest()
    fam = next(f for f in fams if f.key == key)
    for gpu, files in fam.scenarios.items():
        sf, tf = str(paper_dir() / files["study"]), str(paper_dir() / files["tuned"])
        doc = catalog.read_yaml(Path(sf))
        start = {}
        for s in fam.ladder:
            start.update(s.study)
        started, _ = apply_overrides(doc, start, sf)
        # the study file already holds the study's value of every knob this build has (a knob
        # another branch adds makes this fail until the file states the study's value)
        diff = _diff(_comparable(started, sf), _comparable(doc, sf))
        assert not diff, f"{files['study']} lacks the study's value of {diff}: add it to the file"
        for s in fam.ladder:
            doc, _ = apply_overrides(doc, s.tuned, sf)
        diff = _diff(_comparable(doc, sf), _comparable(catalog.read_yaml(Path(tf)), tf))
        assert not diff, f"{files['tuned']} differs from the end of the ladder in {diff}"


#: fast variant of every family: one layer (Engram: its module in layer 1 of 2) and one step; a
#: parameter a workload lacks is reported "unavailable"/"invalid" and skipped, as with --set
FAST_ALL = {"workload.params.num_layers": 1, "workload.params.steps": 1}
FAST_FAMILY = {"engram": {"workload.params.num_layers": 2, "workload.params.engram_layers": [1]},
               "moe": {"workload.params.num_layers": 4}}  # DeepSeek-V3.2's first MoE layer is layer 3


@pytest.mark.parametrize("fam", [f for f in load_manifest()[1] if availability(f) is None], ids=lambda f: f.key)
def test_every_available_family_runs(fam):
    """Both configurations and every ladder step simulate, and the ladder ends at the tuned file."""
    ranges = {k: (v["low"], v["high"]) for k, v in load_manifest()[0].items()}
    assert set(fam.scenarios) == {"mi210", "a100"}
    g = run_family_gpu(Runner(), fam, "mi210", ranges, extra={**FAST_ALL, **FAST_FAMILY.get(fam.key, {})})
    for cfg in ("as_the_study", "tuned"):
        assert "error" not in g[cfg], g[cfg].get("error")
        assert g[cfg]["speedup"] > 0 and g[cfg]["gpu_only_s"] > 0
    assert [s["step"] for s in g["ladder"]] == ["as-the-study"] + [s.name for s in fam.ladder]
    assert all("error" not in s for s in g["ladder"]), [s.get("error") for s in g["ladder"]]
    assert all(o["status"] == "applied" for o in g["study_overrides"]), g["study_overrides"]
    assert g["ladder_reaches_tuned"], g["ladder_mismatch"]
    assert g["ladder"][-1]["speedup"] == pytest.approx(g["tuned"]["speedup"])


def test_overrides_unknown_field_is_unavailable_bad_value_is_invalid():
    f = str(paper_dir() / "dsa-mi210-study.yaml")
    doc = catalog.read_yaml(Path(f))
    out, st = apply_overrides(doc, {"run.no_such_option": 1, "workload.params.batch": 0,
                                    "system.devices.1.overrides.fpga.kernels.indexer_topk.params.no_param": 3,
                                    "workload.params.context_len": 4096}, f)
    assert [s.status for s in st] == ["unavailable", "invalid", "unavailable", "applied"]
    assert validate_doc(out, f).workload.params["context_len"] == 4096


def test_free_transfers_and_serialize():
    sc = load_scenario("default")
    small = sc.model_copy(update={"workload": sc.workload.model_copy(
        update={"params": {**sc.workload.params, "num_layers": 2, "batch": 2}})})

    def with_run(**kw):
        return small.model_copy(update={"run": small.run.model_copy(update=kw)})

    charged = run_scenario(with_run(), mapping="hetero")
    free = run_scenario(with_run(free_transfers=("index_cache",)), mapping="hetero")
    names = {r.name for r in charged.trace.records}
    free_names = {r.name for r in free.trace.records}
    gone = {n for n in names - free_names if n.startswith("xfer:")}
    assert gone and all("idx_k_write" in n for n in gone)
    assert free.result["free_transfers"]["edges"] == len(gone)
    serial = run_scenario(with_run(serialize=True), mapping="hetero")
    recs = sorted(serial.trace.records, key=lambda r: r.start_s)
    spans = {}
    for r in recs:  # a transfer's hops belong to one task
        s, e = spans.get(r.name, (r.start_s, r.end_s))
        spans[r.name] = (min(s, r.start_s), max(e, r.end_s))
    ordered = sorted(spans.values())
    for (s1, e1), (s2, e2) in zip(ordered, ordered[1:]):
        assert s2 >= e1 - 1e-12  # nothing overlaps: the study's serial model
    assert serial.result["makespan_s"] >= charged.result["makespan_s"] - 1e-12


def test_whatif_files_validate():
    for w in load_whatifs():
        f = str((whatif_dir() / w["scenario"]).resolve())
        doc, st = apply_overrides(catalog.read_yaml(Path(f)), w.get("set", {}) or {}, f)
        assert all(s.status == "applied" for s in st)
        validate_doc(doc, f)


#: families whose as-the-study run swaps in the study's own design through shape hints
STUDY_DESIGN_STEP = {"dsa": "study_dsa_vanilla", "seer_attention_r": "study_seer_budget",
                     "lserve_quest": "study_lserve", "rag_bm25": "study_bm25", "engram": "study_engram"}


@pytest.mark.parametrize("key", sorted(STUDY_DESIGN_STEP))
def test_study_designs_price_the_as_the_study_run(key):
    """Past the fpga-estimate step the study's own design prices the FPGA task (the shape
    hints the workload passes make it priceable), and the fpga-design step swaps it out."""
    _, fams = load_manifest()
    fam = next(f for f in fams if f.key == key)
    names = [s.name for s in fam.ladder]
    assert "fpga-design" in names and names.index("fpga-estimate") < names.index("fpga-design")
    sf = str(paper_dir() / fam.scenarios["mi210"]["study"])
    doc, st = apply_overrides(catalog.read_yaml(Path(sf)),
                              {**FAST_ALL, **FAST_FAMILY.get(key, {}),
                               "system.devices.1.overrides.cost_tables": []}, sf)
    sc = validate_doc(doc, sf)
    sources = {r.source for r in run_scenario(sc, mapping="hetero", file=sf).trace.records if r.kind == "task"}
    assert f"fpga:{STUDY_DESIGN_STEP[key]}" in sources, sources
    step = next(s for s in fam.ladder if s.name == "fpga-design")
    tuned, _ = apply_overrides(doc, step.tuned, sf)
    sources = {r.source for r in run_scenario(validate_doc(tuned, sf), mapping="hetero", file=sf).trace.records}
    assert not any(s.startswith("fpga:study_") for s in sources), sources


def test_shape_hints_leave_the_work_alone_and_count_key_stores():
    from hetsim.fpga_kernels import estimate
    from hetsim.kernels import get_kernel

    spec = get_kernel("inner_product_score")
    base = {"batch": 8, "num_items": 256, "dim": 128, "shared_memory_factor": 8}
    hinted = {**base, "num_keys": 16320, "head_dim": 128, "num_memories": 8}
    assert spec.work(hinted) == spec.work(base) and spec.resolve(hinted) == spec.resolve(base)
    with pytest.raises(Exception, match="num_keys"):
        spec.resolve({**base, "num_keys": 0})
    # one key store: as before; m stores each reload their keys and take batch/m queries
    one = estimate("study_seer_budget", {"batch": 1, "num_keys": 16320, "head_dim": 128, "k": 64})
    eight = estimate("study_seer_budget", {"batch": 8, "num_keys": 16320, "head_dim": 128, "k": 64,
                                           "num_memories": 8})
    depth = 60
    assert eight.cycles - depth == 8 * (one.cycles - depth)
    assert eight.loops["seer.key_load"] == 8 * one.loops["seer.key_load"]
    q1 = estimate("study_bm25", {"num_docs": 4096, "doc_tokens": 128, "k": 64})
    q3 = estimate("study_bm25", {"num_docs": 4096, "doc_tokens": 128, "k": 64, "num_queries": 3})
    assert (q3.cycles, q3.hbm_bytes) == (3 * q1.cycles, 3 * q1.hbm_bytes)


def test_moe_as_the_study_runs_the_experts_on_two_cards():
    """The study's split: expert shard i on card i (study_moe); tuned keeps them on the GPU."""
    _, fams = load_manifest()
    fam = next(f for f in fams if f.key == "moe")
    assert "expert-placement" in [s.name for s in fam.ladder]
    files = fam.scenarios["mi210"]
    by_dev = {}
    for cfg in ("study", "tuned"):
        f = str(paper_dir() / files[cfg])
        doc, _ = apply_overrides(catalog.read_yaml(Path(f)), {"workload.params.steps": 1}, f)
        recs = run_scenario(validate_doc(doc, f), mapping="hetero", file=f).trace.records
        by_dev[cfg] = {(r.device, r.source) for r in recs if r.kind == "task" and ".experts" in r.name}
    assert {("fpga0", "fpga:study_moe"), ("fpga1", "fpga:study_moe")} <= by_dev["study"]
    assert {d for d, _ in by_dev["tuned"]} == {"gpu"}


def test_responsible_step_rule():
    from hetsim.reproduce import responsible_step

    def rungs(*vals):
        return [{"step": f"s{i}", "assumption": f"a{i}", "speedup": v} for i, v in enumerate(vals)]

    rs = responsible_step(rungs(0.5, 0.6, 0.3, 0.301), 1.04, 2.2)
    assert (rs["verdict"], rs["step"], rs["direction"]) == ("below", "s2", "away")
    assert rs["factor"] == pytest.approx(0.5)
    assert rs["share_of_gap"] == pytest.approx(math.log(0.5) / math.log(1.04 / 0.5))
    assert rs["ladder_factor"] == pytest.approx(0.602) and rs["tuned_verdict"] == "below"
    up = responsible_step(rungs(3.0, 2.0, 2.1), 1.04, 2.2)  # above: a step down moves toward the range
    assert (up["verdict"], up["step"], up["direction"]) == ("above", "s1", "toward")
    inside = responsible_step(rungs(1.5, 0.5), 1.04, 2.2)
    assert inside["verdict"] == "within" and inside["step"] is None and inside["largest"]["step"] == "s1"
    flat = responsible_step(rungs(1.0, 1.005, 1.004), 1.04, 2.2)  # under 1%: nobody is named
    assert flat["step"] is None and flat["direction"] == "none" and flat["largest"]["step"] == "s1"


def test_readme_summary_matches_reproduce_json(tmp_path, capsys):
    """The README's summary table is exactly what `hetsim reproduce --json` gives now; when
    results move, refresh it with `hetsim reproduce --update-readme README.md`."""
    from hetsim.report.reproduce_summary import readme_summary, replace_summary, summary_table_md

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    shown = readme_summary(readme)
    assert shown is not None, "README lost its reproduce-summary markers"
    assert main(["reproduce", "--json", "--no-plot", "--out", str(tmp_path)]) == 0
    data = json.loads(capsys.readouterr().out)
    fresh = summary_table_md(data)
    assert (tmp_path / "summary.md").read_text() == fresh
    assert shown == fresh, ("README's reproduce summary is stale: run "
                            "`hetsim reproduce --update-readme README.md`")
    keys = {f["key"] for f in data["families"] if f["available"]}
    for fam in data["families"]:  # every family x GPU outside the range names its step or says none
        for g in fam.get("gpus", []):
            rs = g["responsible_step"]
            assert rs["verdict"] == g["verdict"]["as_the_study"]["speedup"]
            if rs["verdict"] != "within":
                assert rs["step"] in [s["name"] for s in fam["ladder_spec"]] or rs["direction"] == "none"
    assert len(fresh.splitlines()) == 2 + 2 * len(keys)
    # --update-readme rewrites only the block between the markers
    assert replace_summary(readme, fresh) == readme
    other = replace_summary("a\n" + readme_marker_block("| old |\n") + "b\n", fresh)
    assert other.startswith("a\n") and other.endswith("b\n") and readme_summary(other) == fresh


def readme_marker_block(table: str) -> str:
    from hetsim.report.reproduce_summary import SUMMARY_BEGIN, SUMMARY_END

    return f"{SUMMARY_BEGIN}\n{table}{SUMMARY_END}\n"
