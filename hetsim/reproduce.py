"""``hetsim reproduce``: the study's comparison, as the study ran it and as a tuned system would.

Everything here is driven by data under ``scenarios/paper/`` and ``scenarios/whatif/``:

* ``families.yaml`` lists every optimization family the study evaluated. An *available* family
  names, per GPU, an as-the-study and a tuned scenario file and an **attribution ladder**: named
  steps, each switching one assumption (GPU stack, FPGA design, transfer charging, overlap,
  link model) from the study's value to the tuned one as ``--set``-style overrides
  (``dotted.path: value``). A family whose workload this build lacks is reported as "not
  available in this build", never left out.
* An override whose field this build's configuration schema does not have (a knob another
  branch adds) is skipped and reported as unavailable; the run goes on. The schema is the
  validator itself: the override is applied and the scenario re-validated.
* The as-the-study run is the as-the-study file with every step's *study* value applied; step k
  applies the *tuned* values of steps 1..k; after the last step the result must be the tuned
  file (checked, reported if not).

Every run is a full simulation of the GPU alone (``gpu-only``) and of the heterogeneous mapping
(``hetero``); identical resolved scenarios are simulated once.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import catalog
from .errors import ConfigError, HetsimError
from .fpga_kernels import DESIGNS
from .loader import scenario_from_dict
from .simulation import RunOutput, check_scenario, run_scenario
from .sweep import set_path

UNKNOWN_FIELD = "unknown field (not allowed here)"


def paper_dir() -> Path:
    return catalog.scenario_dir() / "paper"


def whatif_dir() -> Path:
    return catalog.scenario_dir() / "whatif"


# ----------------------------------------------------------------------------- overrides


@dataclass
class OverrideStatus:
    """What happened to one ``path: value`` override."""

    path: str
    value: Any
    status: str  # applied | unavailable | invalid
    detail: str = ""

    def as_dict(self) -> dict:
        return {"path": self.path, "value": self.value, "status": self.status, "detail": self.detail}


def _fpga_param_problem(doc_scenario) -> str | None:
    """An FPGA design parameter the design's cycle model does not know (None if all known)."""
    for dev in doc_scenario.system.devices:
        if dev.fpga is None:
            continue
        for kname, design in dev.fpga.kernels.items():
            d = DESIGNS.get(design.design)
            if d is None:
                continue
            for p in design.params:
                if p not in d.defaults:
                    return (f"{dev.name}.fpga.kernels.{kname}.params.{p}: design {design.design!r} "
                            f"has no parameter {p!r}")
    return None


def validate_doc(doc: dict, file: str):
    """Validate a raw scenario document the way ``hetsim run`` would; return the Scenario."""
    sc = scenario_from_dict(copy.deepcopy(doc), file)
    check_scenario(sc, file=file)
    problem = _fpga_param_problem(sc)
    if problem:
        raise ConfigError(UNKNOWN_FIELD + f" ({problem})", file=file, field="fpga design params")
    return sc


def apply_overrides(doc: dict, overrides: dict[str, Any], file: str) -> tuple[dict, list[OverrideStatus]]:
    """Apply *overrides* one by one; a field this build does not have is skipped, not fatal."""
    out = copy.deepcopy(doc)
    statuses = []
    for path, value in (overrides or {}).items():
        trial = copy.deepcopy(out)
        try:
            set_path(trial, path, value)
            validate_doc(trial, file)
        except HetsimError as e:
            msg = getattr(e, "detail", str(e))
            status = "unavailable" if UNKNOWN_FIELD in msg else "invalid"
            statuses.append(OverrideStatus(path, value, status,
                                           "not in this build's configuration schema"
                                           if status == "unavailable" else str(e)))
            continue
        out = trial
        statuses.append(OverrideStatus(path, value, "applied"))
    return out, statuses


# ----------------------------------------------------------------------------- manifest


@dataclass
class LadderStep:
    name: str
    assumption: str
    why: str
    study: dict[str, Any]
    tuned: dict[str, Any]


@dataclass
class Family:
    key: str
    title: str
    workload: str
    scenarios: dict[str, dict[str, str]] = field(default_factory=dict)
    ladder: list[LadderStep] = field(default_factory=list)
    gpu_only: dict[str, Any] = field(default_factory=dict)
    needs: str = ""
    notes: list[str] = field(default_factory=list)
    study_settings: list[str] = field(default_factory=list)


def _need(obj: dict, key: str, file: str, where: str):
    if key not in obj:
        raise ConfigError("required field is missing", file=file, field=f"{where}.{key}")
    return obj[key]


def load_manifest(path: Path | None = None) -> tuple[dict, list[Family]]:
    """Read ``families.yaml``: the study's published ranges and every family."""
    path = path or paper_dir() / "families.yaml"
    raw = catalog.read_yaml(path)
    file = str(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("families"), dict):
        raise ConfigError("must be a mapping with 'ranges' and 'families'", file=file)
    ranges = _need(raw, "ranges", file, "(top level)")
    fams = []
    for key, f in raw["families"].items():
        where = f"families.{key}"
        if not isinstance(f, dict):
            raise ConfigError("must be a mapping", file=file, field=where)
        steps = []
        for i, s in enumerate(f.get("ladder", []) or []):
            w = f"{where}.ladder.{i}"
            steps.append(LadderStep(str(_need(s, "name", file, w)), str(_need(s, "assumption", file, w)),
                                    str(s.get("why", "")), dict(s.get("study", {}) or {}),
                                    dict(s.get("tuned", {}) or {})))
        fams.append(Family(key=str(key), title=str(_need(f, "title", file, where)),
                           workload=str(_need(f, "workload", file, where)),
                           scenarios=dict(f.get("scenarios", {}) or {}), ladder=steps,
                           gpu_only=dict(f.get("gpu_only", {}) or {}), needs=str(f.get("needs", "")),
                           notes=list(f.get("notes", []) or []),
                           study_settings=list(f.get("study_settings", []) or [])))
    return ranges, fams


def availability(fam: Family) -> str | None:
    """None if the family can run in this build, else why not (one line)."""
    from .workloads.registry import workloads

    if fam.workload not in workloads():
        return f"not available in this build: needs workload {fam.workload!r}" + (
            f" ({fam.needs})" if fam.needs else "")
    if not fam.scenarios:
        return "not available in this build: no scenario files listed yet" + (
            f" ({fam.needs})" if fam.needs else "")
    for gpu, files in fam.scenarios.items():
        for cfg in ("study", "tuned"):
            if cfg not in files:
                return f"manifest lists no {cfg} scenario for {gpu}"
            if not (paper_dir() / files[cfg]).exists():
                return f"not available in this build: scenario file {files[cfg]} is missing"
    return None


# ----------------------------------------------------------------------------- running


class Runner:
    """Simulates resolved scenarios once each (a cache keyed by the resolved scenario)."""

    def __init__(self, on_run: Callable[[str], None] | None = None, keep_traces: bool = False):
        self._cache: dict[str, RunOutput | HetsimError] = {}
        self.on_run = on_run
        self.simulated = 0
        self.keep_traces = keep_traces

    def run(self, doc: dict, file: str, mapping: str, label: str = "") -> RunOutput:
        sc = validate_doc(doc, file)
        key = json.dumps({"s": sc.model_dump(mode="json", exclude={"name", "description"}),
                          "m": mapping}, sort_keys=True, default=str)
        if key not in self._cache:
            try:
                self._cache[key] = run_scenario(sc, mapping=mapping, file=file)
            except HetsimError as e:
                self._cache[key] = e
            self.simulated += 1
            if self.on_run:
                self.on_run(label or f"{sc.name} {mapping}")
        hit = self._cache[key]
        if isinstance(hit, HetsimError):
            raise hit
        return hit


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def verdict(value: float | None, lo: float, hi: float) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return "within" if lo <= value <= hi else ("below" if value < lo else "above")


def compare_pair(runner: Runner, doc: dict, file: str, gpu_only: dict, label: str) -> dict:
    """gpu-only (with the family's baseline overrides) vs hetero of one scenario document."""
    base_doc, _ = apply_overrides(doc, gpu_only, file) if gpu_only else (doc, [])
    try:
        g = runner.run(base_doc, file, "gpu-only", f"{label} gpu-only")
        h = runner.run(doc, file, "hetero", f"{label} hetero")
    except HetsimError as e:
        return {"error": str(e)}
    gr, hr = g.result, h.result
    return {
        "gpu_only_s": gr["makespan_s"], "hetero_s": hr["makespan_s"],
        "gpu_only_j": gr["energy_j"], "hetero_j": hr["energy_j"],
        "speedup": _ratio(gr["makespan_s"], hr["makespan_s"]),
        "energy_reduction": _ratio(gr["energy_j"], hr["energy_j"]),
        "memory_processing_fraction": gr["memory_processing_fraction"],
        "hetero_memory_processing_fraction": hr["memory_processing_fraction"],
        "gpu_only_steps": {k: v["critical_s"] for k, v in gr["steps"].items()},
        "hetero_steps": {k: v["critical_s"] for k, v in hr["steps"].items()},
        "free_transfers": hr.get("free_transfers"),
        "serialized": bool(hr.get("serialized")),
        "extrapolated_tasks": len(gr["extrapolated_tasks"]) + len(hr["extrapolated_tasks"]),
        "_runs": (g, h),
    }


def _verdicts(cmp: dict, ranges: dict) -> dict:
    if "error" in cmp:
        return {}
    return {
        "speedup": verdict(cmp["speedup"], *ranges["speedup"]),
        "energy_reduction": verdict(cmp["energy_reduction"], *ranges["energy_reduction"]),
        "memory_processing_fraction": verdict(cmp["memory_processing_fraction"],
                                              *ranges["memory_processing_fraction"]),
    }


def _comparable(doc: dict, file: str) -> dict:
    sc = validate_doc(doc, file)
    return sc.model_dump(mode="json", exclude={"name", "description"})


def _diff(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += _diff(a.get(k), b.get(k), f"{path}.{k}" if path else str(k))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += _diff(x, y, f"{path}.{i}")
        return out
    return [] if a == b else [path]


def run_family_gpu(runner: Runner, fam: Family, gpu: str, ranges: dict,
                   extra: dict[str, Any] | None = None) -> dict:
    """As-the-study, the ladder and tuned for one family on one GPU.

    *extra* overrides (``--set``) are applied to both files first, e.g. fewer layers.
    """
    files = fam.scenarios[gpu]
    study_file = str(paper_dir() / files["study"])
    tuned_file = str(paper_dir() / files["tuned"])
    study_raw, extra_status = apply_overrides(catalog.read_yaml(Path(study_file)), extra or {}, study_file)
    tuned_raw, _ = apply_overrides(catalog.read_yaml(Path(tuned_file)), extra or {}, tuned_file)
    # the study's values of every knob, where this build has the knob
    start_over: dict[str, Any] = {}
    for s in fam.ladder:
        start_over.update(s.study)
    doc, start_status = apply_overrides(study_raw, start_over, study_file)
    label = f"{fam.key}/{gpu}"
    rungs = [{"step": "as-the-study", "assumption": "the study's setup", "overrides": [],
              **compare_pair(runner, doc, study_file, fam.gpu_only, f"{label} as-the-study")}]
    for s in fam.ladder:
        doc, st = apply_overrides(doc, s.tuned, study_file)
        rungs.append({"step": s.name, "assumption": s.assumption, "why": s.why,
                      "overrides": [x.as_dict() for x in st],
                      **compare_pair(runner, doc, study_file, fam.gpu_only, f"{label} {s.name}")})
    tuned = compare_pair(runner, tuned_raw, tuned_file, fam.gpu_only, f"{label} tuned")
    mismatch = _diff(_comparable(doc, study_file), _comparable(tuned_raw, tuned_file))
    study = rungs[0]
    n_fpga = sum(1 for d in validate_doc(doc, study_file).system.devices if d.fpga is not None)
    out = {
        "gpu": gpu, "study_file": files["study"], "tuned_file": files["tuned"], "fpgas": n_fpga,
        "study_overrides": [x.as_dict() for x in start_status],
        "extra_overrides": [x.as_dict() for x in extra_status],
        "as_the_study": study, "tuned": tuned, "ladder": rungs,
        "ladder_reaches_tuned": not mismatch, "ladder_mismatch": mismatch,
        "verdict": {"as_the_study": _verdicts(study, ranges), "tuned": _verdicts(tuned, ranges)},
    }
    out["responsible_step"] = responsible_step(rungs, *ranges["speedup"], metric="speedup")
    out["responsible_step_energy"] = responsible_step(rungs, *ranges["energy_reduction"],
                                                      metric="energy_reduction")
    out["widest_gap"] = widest_gap(study)
    return out


#: a ladder step "moves" a result when it changes it by at least this fraction; a smaller move
#: is rounding noise next to the study's ranges (whose ends are given to 2-3 digits)
MOVE_MIN = 0.01

RULE = ("the ladder step whose switch changes the {metric} most (largest |log factor|, steps that move it "
        "by less than {pct:g}% are not counted), with the direction of its move relative to the study's "
        "range and the share of the distance to the range it covers")


def widest_gap(c: dict) -> dict | None:
    """The pipeline step whose critical time differs most between the hetero and GPU-only runs."""
    if "error" in c:
        return None
    h, g = c.get("hetero_steps", {}), c.get("gpu_only_steps", {})
    steps = sorted(set(h) | set(g))
    if not steps:
        return None
    k = max(steps, key=lambda s: abs(h.get(s, 0.0) - g.get(s, 0.0)))
    if abs(h.get(k, 0.0) - g.get(k, 0.0)) <= 1e-9 * max(c.get("gpu_only_s") or 0.0, 1e-30):
        return None  # the two runs spend the same time in every step
    return {"step": k, "hetero_s": h.get(k, 0.0), "gpu_only_s": g.get(k, 0.0)}


def responsible_step(rungs: list[dict], lo: float = 1.04, hi: float = 2.2,
                     metric: str = "speedup") -> dict | None:
    """Which ladder step is responsible for as-the-study's *metric* lying outside [lo, hi].

    The rule (:data:`RULE`): among the steps that move the metric by at least :data:`MOVE_MIN`,
    the one with the largest |log(after / before)|. It is reported with its factor, whether it
    moves the metric toward the range or away from it, and ``share_of_gap`` = its log move over
    the log distance from as-the-study to the nearest end of the range (1.0 = it alone closes
    the gap; negative = it widens it). ``step`` is None when as-the-study is within the range
    (nothing to explain) or when no step moves it by :data:`MOVE_MIN`; ``largest`` always holds
    the largest move. None if the ladder has no values.
    """
    vals = [r.get(metric) for r in rungs]
    if not vals or not vals[0] or vals[0] <= 0:
        return None
    start = vals[0]
    v = verdict(start, lo, hi)
    target = lo if v == "below" else hi if v == "above" else None
    gap = math.log(target / start) if target else 0.0
    best = None
    for prev, cur in zip(rungs, rungs[1:]):
        a, b = prev.get(metric), cur.get(metric)
        if not a or not b:
            continue
        move = math.log(b / a)
        if best is None or abs(move) > abs(best["log_move"]):
            best = {"step": cur["step"], "assumption": cur["assumption"], "factor": b / a, "log_move": move}
    out: dict[str, Any] = {"metric": metric, "verdict": v, "value": start, "range": [lo, hi],
                           "rule": RULE.format(metric=metric.replace("_", " "), pct=100 * MOVE_MIN),
                           "largest": best, "step": None, "assumption": None, "factor": None,
                           "log_move": None, "direction": None, "share_of_gap": None}
    last = next((x for x in reversed(vals) if x), None)
    out["ladder_factor"] = last / start if last else None
    out["gap_factor"] = target / start if target else None  # what as-the-study needs to reach the range
    out["tuned_verdict"] = verdict(last, lo, hi) if last else "n/a"
    if best is None or target is None:
        return out
    if abs(best["log_move"]) < math.log1p(MOVE_MIN):
        out["direction"] = "none"
        return out
    out.update({k: best[k] for k in ("step", "assumption", "factor", "log_move")})
    out["direction"] = "toward" if (best["log_move"] > 0) == (gap > 0) else "away"
    out["share_of_gap"] = best["log_move"] / gap if gap else None
    return out


def load_whatifs(path: Path | None = None) -> list[dict]:
    path = path or whatif_dir() / "whatifs.yaml"
    raw = catalog.read_yaml(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("whatifs"), list):
        raise ConfigError("must be a mapping with a 'whatifs' list", file=str(path))
    for i, w in enumerate(raw["whatifs"]):
        for k in ("name", "question", "scenario"):
            _need(w, k, str(path), f"whatifs.{i}")
    return raw["whatifs"]


def run_whatifs(runner: Runner, ranges: dict, gpu_only: dict, extra: dict[str, Any] | None = None) -> list[dict]:
    """Each what-if scenario (or sweep over one field) as gpu-only vs hetero."""
    rows = []
    for w in load_whatifs():
        file = str((whatif_dir() / w["scenario"]).resolve())
        raw, _ = apply_overrides(catalog.read_yaml(Path(file)), extra or {}, file)
        doc, st = apply_overrides(raw, w.get("set", {}) or {}, file)
        sweep = w.get("sweep") or {}
        points = [(None, None)]
        if sweep:
            (spath, values), = sweep.items()
            points = [(spath, v) for v in values]
        for spath, v in points:
            d = copy.deepcopy(doc)
            label = w["name"] + (f" {spath.split('.')[-1]}={v}" if spath else "")
            if spath:
                set_path(d, spath, v)
            cmp = compare_pair(runner, d, file, gpu_only, label)
            rows.append({"name": w["name"], "question": w["question"], "point": v, "axis": spath,
                         "label": label, "baseline": w.get("baseline"), "note": w.get("note", ""),
                         "overrides": [x.as_dict() for x in st], **cmp, "verdict": _verdicts(cmp, ranges)})
    return rows


def check_extra(extra: dict[str, Any], fams: list[Family], whatif: bool) -> None:
    """Refuse a ``--set`` override that no scenario of this run would take.

    Why: an override is skipped where its field does not exist (a knob of another branch) or
    its value does not fit that scenario, and reported in the report; but one taken by no
    scenario at all (``num_layers=-1``, a misspelt path) would make the whole run answer a
    question the user did not ask, so it is a flag error before any simulation starts.
    """
    if not extra:
        return
    files = [paper_dir() / files[cfg] for f in fams if availability(f) is None
             for files in f.scenarios.values() for cfg in ("study", "tuned")]
    if whatif:
        files += [whatif_dir() / w["scenario"] for w in load_whatifs()]
    for path, value in extra.items():
        first_reason = None
        for f in files:
            doc = catalog.read_yaml(f)
            trial = copy.deepcopy(doc)
            try:
                set_path(trial, path, value)
                validate_doc(trial, str(f))
            except HetsimError as e:
                detail = getattr(e, "detail", str(e))
                if first_reason is None and UNKNOWN_FIELD not in detail:
                    where = f"{e.field}: " if e.field else ""
                    first_reason = f"{where}{detail} (in {f.name})"
                continue
            break
        else:
            why = first_reason or "no scenario of this run has that field"
            raise ConfigError(f"no scenario takes this override: {why}", field=f"--set {path}={value}")


def reproduce(only: str | None = None, whatif: bool = False, on_run=None,
              extra: dict[str, Any] | None = None) -> dict:
    """Run every family (or *only* one) and optionally the what-ifs; return the report data.

    *extra*: ``--set`` overrides applied to every scenario first (where the field exists).
    """
    ranges_raw, fams = load_manifest()
    ranges = {k: (float(v["low"]), float(v["high"])) for k, v in ranges_raw.items()}
    if only is not None:
        keys = [f.key for f in fams]
        if only not in keys:
            raise ConfigError(f"unknown family {only!r}; known: {', '.join(keys)}", field="--only")
        fams = [f for f in fams if f.key == only]
    check_extra(dict(extra or {}), fams, whatif)
    runner = Runner(on_run=on_run)
    out: dict[str, Any] = {"ranges": ranges_raw, "families": [], "extra_overrides": dict(extra or {})}
    for fam in fams:
        why = availability(fam)
        entry: dict[str, Any] = {"key": fam.key, "title": fam.title, "workload": fam.workload,
                                 "notes": fam.notes, "study_settings": fam.study_settings,
                                 "ladder_spec": [{"name": s.name, "assumption": s.assumption, "why": s.why,
                                                  "study": s.study, "tuned": s.tuned} for s in fam.ladder]}
        if why:
            entry["available"] = False
            entry["reason"] = why
        else:
            entry["available"] = True
            entry["gpus"] = [run_family_gpu(runner, fam, gpu, ranges, extra) for gpu in fam.scenarios]
        out["families"].append(entry)
    if whatif:
        dsa = next((f for f in load_manifest()[1] if f.key == "dsa"), None)
        out["whatifs"] = run_whatifs(runner, ranges, dsa.gpu_only if dsa else {}, extra)
    out["simulations"] = runner.simulated
    return out


def strip_runs(obj: Any) -> Any:
    """The report data without the in-memory run objects (for JSON)."""
    if isinstance(obj, dict):
        return {k: strip_runs(v) for k, v in obj.items() if k != "_runs"}
    if isinstance(obj, list):
        return [strip_runs(v) for v in obj]
    return obj


def representative_traces(data: dict) -> dict[str, tuple]:
    """family -> (trace, title): the tuned hetero run on the family's first GPU."""
    out = {}
    for fam in data["families"]:
        gpus = fam.get("gpus") or []
        if not gpus:
            continue
        g = gpus[0]
        runs = g["tuned"].get("_runs")
        if runs:
            n = g.get("fpgas", 1)
            out[fam["key"]] = (runs[1].trace, f"{fam['key']} tuned, hetero, {g['gpu']} + "
                                              f"{'' if n == 1 else f'{n} x '}U55C")
    return out
