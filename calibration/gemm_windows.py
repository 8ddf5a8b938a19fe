"""Why the tile model's held-out worst case on Vidur's A100 GEMMs stays above 20% (issue 10).

    python -m calibration.vidur --csv a100-sxm-80gb a100.csv shared/reference/data/vidur-a100/*.mlp.csv
    hetsim validate --against a100.csv --detach-tables --leave-one-out group --out v
    python -m calibration.gemm_windows a100.csv v/validation.csv [DEVICE, default a100-sxm-80gb]

Reads the measurements and the leave-one-model-out predictions and prints:

* the rows beyond 20%, by class: a *spike* (measured > 1.25x both neighbours at m +- 32 in
  its (model, operator, TP) series), a *window* (a step of > 1.25x between adjacent token
  counts within m +- 64: a run of slow or fast kernel picks), *smooth* bias (no such step
  nearby), and *edge* rows without both neighbours; for each class how many have the same
  (m, k, n) in another model and whether it is timed the same there;
* the bound of any predictor that is non-decreasing in m within a series (every model that
  prices the *fastest* tile/split candidate is: more tiles or more bytes never cost less):
  the worst error it must make and the fewest rows it must leave beyond 20%, even fitted to
  the series itself. A slow kernel pick between two fast ones is a drop in time as m grows,
  which such a model cannot follow;
* two oracles on the held-out rows: the measured time of the same shape in another model
  where there is one, and that plus a transfer of the slow/fast ratio of the training models
  keyed on (m, n) or (m, k) (does a kernel switch seen in one model sit at the same place in
  another?);
* a heuristic-ranking check: if the library ranked candidates by a simpler estimate (whole
  waves, no tile efficiency, no split-k reduction cost) and ran its top pick, at the fitted
  cost of that pick, would the slow picks land where they are measured?
"""

from __future__ import annotations

import collections
import csv
import sys
from dataclasses import dataclass

import numpy as np

TOL = 0.20  # the per-operator worst-case target


@dataclass
class Row:
    group: str
    op: str
    label: str
    m: int
    k: int
    n: int
    meas: float
    pred: float = float("nan")  # held-out prediction
    cls: str = ""

    @property
    def err(self) -> float:
        return (self.pred - self.meas) / self.meas


def _shape(text: str) -> dict:
    return {a: int(b) for a, b in (p.split("=") for p in text.split(";"))}


def read_rows(measured_csv: str, validation_csv: str | None = None) -> list[Row]:
    """Rows of a ``calibration.vidur --csv`` file, with the predictions of a ``validate``
    output (same rows, same order) when given."""
    out = []
    for r in csv.DictReader(open(measured_csv, newline="")):
        s = _shape(r["shape"])
        out.append(Row(r["group"], r["label"].split("@")[0], r["label"], s["m"], s["k"], s["n"],
                       float(r["time_s"])))
    if validation_csv:
        v = list(csv.DictReader(open(validation_csv, newline="")))
        if len(v) != len(out):
            raise SystemExit(f"{validation_csv}: {len(v)} rows, {measured_csv} has {len(out)}")
        for row, r in zip(out, v):
            if r["shape"] != f"m={row.m};k={row.k};n={row.n}" or r["group"] != row.group:
                raise SystemExit(f"{validation_csv}: rows not in the order of {measured_csv}")
            row.pred = float(r["predicted_s"])
    return out


def series(rows: list[Row]) -> dict[tuple, dict[int, Row]]:
    """(model, operator@TP) -> token count -> row."""
    s: dict[tuple, dict[int, Row]] = collections.defaultdict(dict)
    for r in rows:
        s[(r.group, r.label)][r.m] = r
    return s


def _neighbour(s: dict[int, Row], m: int, d: int, side: int) -> Row | None:
    """The row at m + side*d, or the nearest one beyond it when the grid is coarser."""
    if m + side * d in s:
        return s[m + side * d]
    beyond = [x for x in s if side * (x - m) > d]
    return s[min(beyond, key=lambda x: abs(x - m))] if beyond else None


def classify(s: dict[int, Row], m: int, spike: float = 1.25, d: int = 32) -> str:
    """Class of the row at token count *m* of one series (see module doc)."""
    r = s[m]
    lo, hi = _neighbour(s, m, d, -1), _neighbour(s, m, d, +1)
    if lo is None or hi is None:
        return "edge"
    if r.meas > spike * lo.meas and r.meas > spike * hi.meas:
        return "spike"
    if r.meas * spike < lo.meas and r.meas * spike < hi.meas:
        return "dip"
    near = sorted(x for x in s if abs(x - m) <= 2 * d)
    step = max((max(s[b].meas / s[a].meas, s[a].meas / s[b].meas) for a, b in zip(near, near[1:])),
               default=1.0)
    return "window" if step > spike else "smooth"


def monotone_bound(times, tol: float = TOL) -> tuple[float, int]:
    """For times ordered by m: the smallest worst relative error of any non-decreasing
    predictor, and the fewest rows it must leave beyond *tol*.

    A drop t_i > t_j (i < j) forces a non-decreasing p with p_i <= p_j; the best is
    p = 2 t_i t_j / (t_i + t_j), an error (r - 1) / (r + 1) on both, r = t_i / t_j. Rows
    within *tol* of one non-decreasing p need prefix max <= (1 + tol) / (1 - tol) x each kept
    time; the most rows kept is found over the states 'largest kept time so far'."""
    t = [float(x) for x in times]
    top, r = 0.0, 1.0
    for x in t:
        top = max(top, x)
        r = max(r, top / x)
    ratio = (1 + tol) / (1 - tol)
    best: dict[float, int] = {0.0: 0}
    for x in t:
        new = dict(best)
        for mx, c in best.items():
            if mx <= ratio * x * (1 + 1e-12):
                nm = max(mx, x)
                if new.get(nm, -1) < c + 1:
                    new[nm] = c + 1
        best = new
    return (r - 1) / (r + 1), len(t) - max(best.values())


def _per_op(rows: list[Row], pred: np.ndarray) -> str:
    meas = np.array([r.meas for r in rows])
    e = np.abs(pred - meas) / meas
    ops = np.array([r.op for r in rows])
    parts = [f"{op} {100 * np.median(e[ops == op]):.1f}/{100 * e[ops == op].max():.1f}"
             for op in sorted(set(ops))]
    return "  ".join(parts) + f"  beyond 20%: {int((e > TOL).sum())}"


def in_sample(rows: list[Row], device: str = "a100-sxm-80gb") -> np.ndarray:
    """The shipped tile fit's prediction of every row (the fit saw them all)."""
    from hetsim.costs.gemm_tiles import tile_times
    from hetsim.loader import load_device_preset

    dev = load_device_preset(device)
    gt = dev.gemm_tiles
    p = {**gt.model_dump(), "tiles": [t.model_dump() for t in gt.tiles]}
    m, n, k = (np.array([getattr(r, a) for r in rows], float) for a in "mnk")
    return tile_times(p, float(dev.peak_flop_per_s[gt.dtype]), float(dev.memory.achievable_bandwidth_Bps), m, n, k)


def candidate_costs(rows: list[Row], whole_waves: bool = False, efficiency: bool = True,
                    reduce: bool = True, device: str = "a100-sxm-80gb"):
    """Cost of every (tile, split) candidate of the shipped fit for every row (candidates x
    rows), and the candidates' (tile m, tile n, split, blocks-per-row array). The flags drop
    parts of the fitted cost (a simpler ranking): partial-wave discount, tile efficiency,
    split-k reduction traffic."""
    from hetsim.costs.gemm_tiles import _waves
    from hetsim.loader import load_device_preset

    dev = load_device_preset(device)
    gt = dev.gemm_tiles
    peak = float(dev.peak_flop_per_s[gt.dtype])
    bw = float(dev.memory.achievable_bandwidth_Bps)
    m, n, k = (np.array([getattr(r, a) for r in rows], float) for a in "mnk")
    units = float(gt.compute_units)
    mem = (m * k + k * n + m * n) * 2 / (bw * gt.memory_efficiency)
    e = gt.overlap_exponent
    out, names = [], []
    for tl in gt.tiles:
        eff = tl.efficiency if efficiency else 1.0
        tiles = np.ceil(m / tl.m) * np.ceil(n / tl.n)
        for s in gt.split_k:
            comp = _waves(tiles * s / units, None if whole_waves else gt.wave_tail) * 2 * tl.m * tl.n \
                * (np.ceil(k / s) + gt.k_overhead) / (peak / units * eff)
            if s > 1 and reduce:
                comp = comp + m * n * 4 * s * 2 / bw
            out.append(gt.overhead_s + (comp ** e + mem ** e) ** (1 / e))
            names.append((tl.m, tl.n, s, tiles * s))
    return np.array(out), names


def heuristic_pick(rows: list[Row], device: str = "a100-sxm-80gb", **rank) -> np.ndarray:
    """Fitted cost of the candidate a simpler ranking (flags of :func:`candidate_costs`) picks."""
    real, _ = candidate_costs(rows, device=device)
    ranked, _ = candidate_costs(rows, device=device, **rank)
    return real[ranked.argmin(axis=0), np.arange(len(rows))]


def report(rows: list[Row], out=sys.stdout, device: str = "a100-sxm-80gb") -> None:
    from hetsim.loader import load_device_preset

    units = int(load_device_preset(device).gemm_tiles.compute_units)
    def p(*a):
        print(*a, file=out)

    ser = series(rows)
    held = np.array([r.pred for r in rows])
    by_shape: dict[tuple, list[Row]] = collections.defaultdict(list)
    for r in rows:
        by_shape[(r.m, r.k, r.n)].append(r)

    def others(r):
        return [x for x in by_shape[(r.m, r.k, r.n)] if x.group != r.group]

    p(f"{len(rows)} rows; held-out per operator median/worst: {_per_op(rows, held)}")
    bad = [r for r in rows if abs(r.err) > TOL]
    for r in bad:
        r.cls = classify(ser[(r.group, r.label)], r.m)
    p(f"\nrows beyond 20% by class (spike: > 1.25x both neighbours at m+-32; window: a > 1.25x step"
      f" within m+-64; smooth: neither)")
    for c in ("spike", "dip", "window", "smooth", "edge"):
        rs = [r for r in bad if r.cls == c]
        if not rs:
            continue
        sh = [r for r in rs if others(r)]
        same = [r for r in sh if all(abs(x.meas / r.meas - 1) <= 0.10 for x in others(r))]
        ops = collections.Counter(r.op for r in rs)
        p(f"  {c:7s} {len(rs):4d} (too fast {sum(r.err < 0 for r in rs)}); same (m,k,n) in another "
          f"model: {len(sh)}, timed within 10% there: {len(same)}; {dict(sorted(ops.items()))}")
    unique = [r for r in bad if not others(r)]
    p(f"  on shapes no other model has: {len(unique)} of {len(bad)}")

    shared = [r for r in rows if others(r)]
    rat = np.abs(np.array([np.mean([x.meas for x in others(r)]) / r.meas for r in shared]) - 1)
    p(f"\nidentical shapes timed in two models: {len(shared)} rows" + (
        f", |ratio - 1| median {100 * np.median(rat):.1f}%, p90 {100 * np.percentile(rat, 90):.1f}%, "
        f"max {100 * rat.max():.1f}%" if len(rat) else ""))

    p("\nany predictor non-decreasing in m per series (all 'fastest candidate' models), fitted in-sample:")
    worst: dict[str, float] = collections.defaultdict(float)
    miss: collections.Counter = collections.Counter()
    for (g, lab), s in sorted(ser.items()):
        w, k = monotone_bound([s[m].meas for m in sorted(s)])
        op = lab.split("@")[0]
        worst[op] = max(worst[op], w)
        miss[op] += k
    for op in sorted(worst):
        p(f"  {op:15s} worst error >= {100 * worst[op]:.1f}%, rows it must leave beyond 20%: {miss[op]}")

    p("\noracles on the held-out rows (per operator median/worst):")
    orc = np.array([np.mean([x.meas for x in others(r)]) if others(r) else r.pred for r in rows])
    p(f"  same shape's measured time in another model, else the model: {_per_op(rows, orc)}")
    ins = in_sample(rows, device)
    q = np.array([r.meas for r in rows]) / ins
    grp = np.array([r.group for r in rows])
    for name, key in (("(m, n)", lambda r: (r.m, r.n)), ("(m, k)", lambda r: (r.m, r.k))):
        idx: dict[tuple, list[int]] = collections.defaultdict(list)
        for i, r in enumerate(rows):
            idx[key(r)].append(i)
        pred = held.copy()
        right = wrong = 0
        for i, r in enumerate(rows):
            js = [j for j in idx[key(r)] if grp[j] != r.group]
            if not js:
                continue
            c = float(np.median(q[js]))
            if abs(np.log(c)) > np.log(1.25):  # a kernel switch in the training models here
                pred[i] = held[i] * c
                truth = r.meas / held[i]
                right, wrong = (right + 1, wrong) if (truth - 1) * (c - 1) > 0 and abs(np.log(truth)) > np.log(1.1) \
                    else (right, wrong + 1)
        p(f"  switch ratio of other models at the same {name} (applied {right + wrong}: right {right}, "
          f"wrong {wrong}): {_per_op(rows, pred)}")

    pred, (n_app, right, wrong) = knn_transfer(rows, q, held, units)
    p(f"  slow ratio of the 3 nearest training rows in tile features (applied {n_app}: right {right}, "
      f"wrong {wrong}): {_per_op(rows, pred)}")

    slow = q > 1.25
    fast = ins
    p(f"\nheuristic ranking (in-sample, shipped fit; {int(slow.sum())} rows measured > 1.25x the fit):")
    for name, rank in (("fastest (the model)", None),
                       ("whole waves", {"whole_waves": True}),
                       ("whole waves, no tile efficiency", {"whole_waves": True, "efficiency": False}),
                       ("whole waves, no split-k reduction", {"whole_waves": True, "reduce": False})):
        pick = fast if rank is None else heuristic_pick(rows, device, **rank)
        sw = pick > 1.15 * fast
        p(f"  {name:35s} slow rows placed {int((sw & slow).sum()):4d}, switches where none is measured "
          f"{int((sw & ~slow).sum()):5d}; {_per_op(rows, pick)}")
    p("\ncandidates of the fit that reproduce a slow row's measured time (which kernel ran?):")
    _candidates_report(rows, slow, p, device, units)


def knn_transfer(rows: list[Row], q: np.ndarray, held: np.ndarray, units: int = 108,
                 neighbours: int = 3) -> tuple:
    """Learn the slow picks from the other models: each held-out row (m >= 24) takes the median
    in-sample slow ratio *q* of its nearest training rows in standardised features (log k,
    log n, log m, the fractional waves of 128x128 and 64x128 tiles, m mod 128) and applies it
    where that is > 1.25. Returns the predictions and (applied, right, wrong)."""
    m, k, n = (np.array([getattr(r, a) for r in rows], float) for a in "mkn")
    f = np.stack([np.log2(k), np.log2(n), np.log2(m), (np.ceil(m / 128) * np.ceil(n / 128) / units) % 1,
                  (np.ceil(m / 64) * np.ceil(n / 128) / units) % 1, (m % 128) / 128], axis=1)
    sd = f.std(axis=0)
    f = (f - f.mean(axis=0)) / np.where(sd > 0, sd, 1.0)  # a constant feature (a tiny input) stays 0
    grp = np.array([r.group for r in rows])
    meas = np.array([r.meas for r in rows])
    pred = held.copy()
    right = wrong = 0
    for g in sorted(set(grp)):
        te = np.where((grp == g) & (m >= 24))[0]
        tr = np.where((grp != g) & (m >= 24))[0]
        for lo in range(0, len(te), 256):
            ix = te[lo:lo + 256]
            d = ((f[ix, None, :] - f[None, tr, :]) ** 2).sum(axis=2)
            near = tr[np.argsort(d, axis=1, kind="stable")[:, :neighbours]]
            c = np.median(q[near], axis=1)
            use = c > 1.25
            pred[ix[use]] = held[ix[use]] * c[use]
            truth = meas[ix[use]] / held[ix[use]]
            right += int((truth > 1.1).sum())
            wrong += int((truth <= 1.1).sum())
    return pred, (right + wrong, right, wrong)


def _candidates_report(rows: list[Row], slow: np.ndarray, p, device: str, units: int) -> None:
    """How many candidates reproduce each slow shape's time within 5% (is the pick identifiable?)."""
    first: dict[tuple, int] = {}
    for i in np.where(slow)[0]:
        first.setdefault((rows[i].m, rows[i].k, rows[i].n), int(i))
    sub = [rows[i] for i in first.values()]
    meas = np.array([r.meas for r in sub])
    for whole in (False, True):
        cost, names = candidate_costs(sub, whole_waves=whole, device=device)
        near = np.abs(cost / meas - 1) <= 0.05
        cnt = near.sum(axis=0)
        one_wave = np.zeros(len(sub), bool)
        for c, (tm, tn, s, blocks) in enumerate(names):
            if s == 1:
                one_wave |= near[c] & (blocks <= units)
        p(f"  {'whole waves' if whole else 'fitted partial-wave cost'}: of {len(sub)} slow shapes, "
          f"{int((cnt == 0).sum())} match no candidate within 5%, {int((cnt == 1).sum())} exactly one, "
          f"{int((cnt >= 4).sum())} four or more; a one-wave unsplit tile matches {int(one_wave.sum())}")


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) not in (2, 3):
        print("usage: python -m calibration.gemm_windows MEASURED.csv VALIDATION.csv [DEVICE]", file=sys.stderr)
        return 2
    report(read_rows(argv[0], argv[1]), device=argv[2] if len(argv) == 3 else "a100-sxm-80gb")
    return 0


if __name__ == "__main__":
    sys.exit(main())
