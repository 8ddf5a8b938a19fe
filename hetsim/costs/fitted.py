"""Fitted kernel-time models: from measured points to a time for any shape (numpy only).

A calibrated table (``hetsim-kernel-table/1``) stores, per kernel, measured median times at a
grid of shapes. The simulator needs times at shapes that were *not* measured (other context
lengths, batch sizes, model widths), so each kernel gets a model over the kernel's work as
``hetsim.kernels`` defines it, ``(flop, bytes) = KERNELS[name].work(shape)``:

``roofline``
    ``t = t0_s + max(flop / flop_per_s, bytes / bytes_per_s)``: a fixed per-call overhead plus
    the slower of compute and memory, with achieved (not peak) rates fitted.
``linear``
    ``t = t0_s + s_per_byte * bytes + s_per_flop * flop`` with non-negative coefficients:
    compute and memory do not overlap (small kernels, gathers).
``powerlaw``
    ``t = t0_s + coef_s * (w / 1 s) ** exponent`` over the roofline work time ``w``
    (``max(flop/F, bytes/B)`` with the roofline's fitted rates): captures super- or sub-linear
    scaling such as top-k's ``n log n`` or cache effects.
``loglog``
    Monotone piecewise-linear interpolation of ``log t`` against ``log w`` (``w`` as above),
    isotonic so more work never predicts less time; end slopes clamped to ``[0, 1]`` outside
    the measured range (time cannot fall below the fixed cost, nor grow faster than linearly).

Why several: no single form fits every kernel on every device (launch-bound GEMVs,
bandwidth-bound scoring, sort-like top-k), and a more flexible model can overfit a handful
of points. The choice is made on **held-out error**: each candidate is refitted with each
point left out (leave-one-out; 10-fold for more than 40 points) and scored on the points it
did not see. The error of a point is ``|pred - meas| / meas``; a model's held-out error is the
median over points. The simplest model within :data:`SIMPLER_MARGIN` of the best wins.

A table describes one *implementation* on one device. Shape keys that select an
implementation variant in ``hetsim.kernels`` (``indexer_score``'s ``intermediate``: whether
the [heads, keys] logits go through memory) are fixed to the measured variant by
``fit["shape_overrides"]`` when predicting, so a query for the fused variant is priced as what
was actually measured rather than with a byte count the measurement never had.

A shape that was measured exactly is priced with its measured median (``fit["measured"]``),
not the model: the model is for the shapes in between, and its held-out error says how well
it does there.

Some kernels run different implementations in different *regimes* of their shape
(``KernelSpec.regime``: a GEMM with one row runs a matrix-vector kernel). One curve over the
work axis cannot follow both laws, so when every regime among the points has at least
:data:`MIN_REGIME_POINTS` of them, each regime is also fitted on its own (the same model
selection, held out within the regime) and the split is kept when its held-out error over all
points beats the joint fit's by more than :data:`SIMPLER_MARGIN`. The fit then carries
``regimes`` (regime -> its own fit) and prices a query with its regime's fit; the top-level
``model``/``params`` stay the joint fit, which prices a query in a regime without points of
its own, flagged as extrapolated (``regime_points`` counts the points per regime). Tables
without these fields predict as before.

Units: seconds (s), bytes (B), FLOP; rates in FLOP/s and B/s.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ..kernels import get_kernel

#: Candidate models, simplest first (ties go to the earlier one).
FIT_MODELS = ("roofline", "linear", "powerlaw", "loglog", "product")

#: A more complex model must beat the simplest good one by more than this held-out error.
SIMPLER_MARGIN = 0.005

#: Points above which k-fold (10 folds) replaces leave-one-out.
LOO_MAX_POINTS = 40

#: Fewest points a regime needs to be fitted on its own: its held-out median then has a
#: distribution-free 95% interval (an order-statistic interval needs n >= 6), and each
#: leave-one-out fit sees >= 5 points, as many as the richest candidate (``product`` over a
#: GEMM's m, n, k) has parameters.
MIN_REGIME_POINTS = 6

#: Shape keys that name an implementation variant rather than a problem size (see module doc).
VARIANT_KEYS = {"indexer_score": ("intermediate",), "sparse_attention": ("materialised",)}

_RANGE_SLACK = 1e-9


# ---------------------------------------------------------------------------------------------
# work features


def work_of(kernel: str, shape: Mapping[str, int],
            overrides: Mapping[str, int] | None = None) -> tuple[float, float]:
    """Return ``(flop, bytes)`` of *kernel* at *shape*, with *overrides* applied first."""
    full = dict(shape)
    if overrides:
        full.update(overrides)
    return get_kernel(kernel).work(full)


def _features(kernel: str, shapes: Iterable[Mapping[str, int]],
              overrides: Mapping[str, int] | None) -> tuple[np.ndarray, np.ndarray]:
    fb = np.array([work_of(kernel, s, overrides) for s in shapes], dtype=float).reshape(-1, 2)
    return fb[:, 0], fb[:, 1]


# ---------------------------------------------------------------------------------------------
# a small Nelder-Mead (numpy only; the simulator must not need scipy)


def _nelder_mead(fun, x0: np.ndarray, step: float = 0.5, iters: int = 600,
                 tol: float = 1e-12) -> tuple[np.ndarray, float]:
    n = len(x0)
    simplex = [np.asarray(x0, float)]
    for i in range(n):
        x = np.array(x0, float)
        x[i] += step
        simplex.append(x)
    simplex = np.array(simplex)
    values = np.array([fun(x) for x in simplex])
    for _ in range(iters):
        order = np.argsort(values)
        simplex, values = simplex[order], values[order]
        if abs(values[-1] - values[0]) <= tol * (1.0 + abs(values[0])) and \
                np.max(np.abs(simplex[1:] - simplex[0])) < 1e-9:
            break
        centroid = simplex[:-1].mean(axis=0)
        xr = centroid + (centroid - simplex[-1])
        fr = fun(xr)
        if fr < values[0]:
            xe = centroid + 2.0 * (centroid - simplex[-1])
            fe = fun(xe)
            simplex[-1], values[-1] = (xe, fe) if fe < fr else (xr, fr)
        elif fr < values[-2]:
            simplex[-1], values[-1] = xr, fr
        else:
            xc = centroid + 0.5 * (simplex[-1] - centroid)
            fc = fun(xc)
            if fc < values[-1]:
                simplex[-1], values[-1] = xc, fc
            else:  # shrink towards the best vertex
                simplex[1:] = simplex[0] + 0.5 * (simplex[1:] - simplex[0])
                values[1:] = [fun(x) for x in simplex[1:]]
    best = int(np.argmin(values))
    return simplex[best], float(values[best])


def _minimize(fun, starts: Sequence[np.ndarray]) -> np.ndarray:
    """Screen *starts* with short Nelder-Mead runs, then polish the best with restarts."""
    best_x, best_v = np.asarray(starts[0], float), math.inf
    for x0 in starts:
        x, v = _nelder_mead(fun, np.asarray(x0, float), iters=120)
        if v < best_v:
            best_x, best_v = x, v
    x, _ = _nelder_mead(fun, best_x, step=0.2)
    for _ in range(2):  # restarting a collapsed simplex is the standard NM remedy
        x, _ = _nelder_mead(fun, x, step=0.02)
    return x


# ---------------------------------------------------------------------------------------------
# the models: fit_<model>(flop, bytes, t) -> params; _eval_<model>(params, flop, bytes) -> t


def _fit_linear(f: np.ndarray, b: np.ndarray, t: np.ndarray) -> dict[str, Any]:
    """Non-negative least squares of relative error, by enumerating the active sets."""
    cols = {"t0_s": np.ones_like(t), "s_per_byte": b, "s_per_flop": f}
    names = [k for k, v in cols.items() if np.any(v > 0)]
    best, best_r = {k: 0.0 for k in cols}, math.inf
    for mask in range(1, 2 ** len(names)):
        use = [names[i] for i in range(len(names)) if mask >> i & 1]
        a = np.stack([cols[k] / t for k in use], axis=1)
        scale = np.abs(a).max(axis=0)
        coef, *_ = np.linalg.lstsq(a / scale, np.ones_like(t), rcond=None)
        coef = coef / scale
        if np.any(coef < 0):
            continue
        r = float(np.sum((a @ coef - 1.0) ** 2))
        if r < best_r - 1e-15:
            best_r = r
            best = {k: 0.0 for k in cols}
            best.update({k: float(c) for k, c in zip(use, coef)})
    return best


def _eval_linear(p: Mapping[str, Any], f, b) -> np.ndarray:
    return p["t0_s"] + p["s_per_byte"] * np.asarray(b, float) + p["s_per_flop"] * np.asarray(f, float)


def _eval_roofline(p: Mapping[str, Any], f, b) -> np.ndarray:
    f, b = np.asarray(f, float), np.asarray(b, float)
    comp = f / p["flop_per_s"] if p.get("flop_per_s") else np.zeros_like(f)
    mem = b / p["bytes_per_s"] if p.get("bytes_per_s") else np.zeros_like(b)
    return p["t0_s"] + np.maximum(comp, mem)


def _fit_roofline(f: np.ndarray, b: np.ndarray, t: np.ndarray) -> dict[str, Any]:
    """Fit log t0, log F, log B by Nelder-Mead on squared log residuals (relative error)."""
    has_f, has_b = bool(np.any(f > 0)), bool(np.any(b > 0))
    tmin = float(t.min())
    lin = _fit_linear(f, b, t)
    # starting points: the linear fit, and each roofline leg alone explaining the largest point
    t0s = [max(lin["t0_s"], tmin * 1e-3), tmin * 0.5]
    fmax, bmax, tmax = float(f.max()), float(b.max()), float(t.max())
    f_rates = [1.0 / lin["s_per_flop"] if lin["s_per_flop"] > 0 else fmax / (tmax * 1e-3 + 1e-300),
               fmax / tmax if fmax > 0 else 1.0]
    b_rates = [1.0 / lin["s_per_byte"] if lin["s_per_byte"] > 0 else bmax / (tmax * 1e-3 + 1e-300),
               bmax / tmax if bmax > 0 else 1.0]
    starts = []
    for t0 in t0s:
        for fr in f_rates:
            for br in b_rates:
                x = [math.log(t0)]
                if has_f:
                    x.append(math.log(max(fr, 1e-300)))
                if has_b:
                    x.append(math.log(max(br, 1e-300)))
                starts.append(np.array(x))

    def unpack(x):
        i = 1
        p = {"t0_s": math.exp(x[0]), "flop_per_s": None, "bytes_per_s": None}
        if has_f:
            p["flop_per_s"] = math.exp(x[i])
            i += 1
        if has_b:
            p["bytes_per_s"] = math.exp(x[i])
        return p

    logt = np.log(t)
    fz, bz = (f if has_f else np.zeros_like(f)), (b if has_b else np.zeros_like(b))

    def loss(x):
        if max(abs(v) for v in x) > 700:
            return math.inf
        i = 1
        comp = fz * math.exp(-x[i]) if has_f else fz
        i += has_f
        mem = bz * math.exp(-x[i]) if has_b else bz
        r = np.log(math.exp(x[0]) + np.maximum(comp, mem)) - logt
        return float(r @ r)

    return unpack(_minimize(loss, starts))


def _work_s(abscissa: Mapping[str, Any], f, b) -> np.ndarray:
    """Roofline work time ``max(flop/F, bytes/B)`` in s: the 1-D axis of powerlaw and loglog."""
    return _eval_roofline({"t0_s": 0.0, **abscissa}, f, b)


def _abscissa(f, b, t) -> dict[str, Any]:
    r = _fit_roofline(f, b, t)
    return {"flop_per_s": r["flop_per_s"], "bytes_per_s": r["bytes_per_s"]}


def _fit_powerlaw(f, b, t, ab: Mapping[str, Any] | None = None) -> dict[str, Any]:
    ab = dict(ab) if ab is not None else _abscissa(f, b, t)
    w = np.maximum(_work_s(ab, f, b), 1e-300)
    tmin = float(t.min())

    logt, logw = np.log(t), np.log(w)

    def loss(x):
        if abs(x[0]) > 700 or abs(x[1]) > 700 or not (0.0 <= x[2] <= 3.0):
            return math.inf
        r = np.log(math.exp(x[0]) + np.exp(x[1] + x[2] * logw)) - logt
        return float(r @ r)

    starts = [np.array([math.log(tmin * 0.5), 0.0, 1.0]),
              np.array([math.log(tmin * 0.05), 0.0, 1.0]),
              np.array([math.log(tmin * 0.5), math.log(tmin), 0.5])]
    x = _minimize(loss, starts)
    return {"t0_s": math.exp(x[0]), "coef_s": math.exp(x[1]), "exponent": float(x[2]), **ab}


def _eval_powerlaw(p, f, b) -> np.ndarray:
    w = np.maximum(_work_s(p, f, b), 0.0)
    return p["t0_s"] + p["coef_s"] * w ** p["exponent"]


def _isotonic(y: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Pool-adjacent-violators: the non-decreasing sequence closest to *y* (weighted L2)."""
    blocks: list[list[float]] = []  # [mean, weight, count]
    for v, wt in zip(y, weight):
        blocks.append([float(v), float(wt), 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, c2 = blocks.pop()
            m1, w1, c1 = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, c1 + c2])
    return np.concatenate([[m] * c for m, _, c in blocks])


def _fit_loglog(f, b, t, ab: Mapping[str, Any] | None = None) -> dict[str, Any]:
    ab = dict(ab) if ab is not None else _abscissa(f, b, t)
    w = _work_s(ab, f, b)
    ok = w > 0
    if not np.any(ok):  # no work at all: a constant
        return {"log_work_s": [0.0], "log_time_s": [float(np.log(np.median(t)))], **ab}
    lw, lt = np.log(w[ok]), np.log(t[ok])
    order = np.argsort(lw, kind="stable")
    lw, lt = lw[order], lt[order]
    # merge equal abscissae (same work, e.g. repeated shapes): mean log time, weight = count
    ux, inv, counts = np.unique(np.round(lw, 12), return_inverse=True, return_counts=True)
    ly = np.bincount(inv, weights=lt) / counts
    ly = _isotonic(ly, counts.astype(float))
    return {"log_work_s": [float(v) for v in ux], "log_time_s": [float(v) for v in ly], **ab}


def _eval_loglog(p, f, b) -> np.ndarray:
    xs, ys = np.asarray(p["log_work_s"]), np.asarray(p["log_time_s"])
    w = _work_s(p, f, b)
    if len(xs) == 1:
        return np.full(w.shape, math.exp(ys[0]))
    # no work at all is priced as the smallest measured point (and flagged as extrapolated)
    lw = np.where(w > 0, np.log(np.maximum(w, 1e-300)), xs[0])
    lo_slope = float(np.clip((ys[1] - ys[0]) / (xs[1] - xs[0]), 0.0, 1.0))
    hi_slope = float(np.clip((ys[-1] - ys[-2]) / (xs[-1] - xs[-2]), 0.0, 1.0))
    inner = np.interp(lw, xs, ys)
    out = np.where(lw < xs[0], ys[0] + lo_slope * (lw - xs[0]),
                   np.where(lw > xs[-1], ys[-1] + hi_slope * (lw - xs[-1]), inner))
    return np.exp(out)


def _shape_keys(kernel: str, shapes: Sequence[Mapping[str, int]]) -> list[str]:
    """Size keys of *kernel* (its required keys plus non-variant defaults, not elem_bytes)."""
    spec = get_kernel(kernel)
    skip = set(VARIANT_KEYS.get(kernel, ())) | {"elem_bytes"}
    keys = [k for k in (*spec.shape_keys, *spec.defaults) if k not in skip]
    return list(dict.fromkeys(keys))


def _fit_product(f, b, t, ab, kernel: str, shapes: Sequence[Mapping[str, int]]) -> dict[str, Any]:
    """``t = t0 + exp(c) * prod_k size_k ** p_k * w(shape) / w(shape at reference sizes)``.

    Exponents are fitted for the size keys that vary among the points; keys that do not vary
    are held at their measured value (``reference``) and a query that differs in them is scaled
    by the roofline work ratio (so untried dimensions follow ``hetsim.kernels``' formulas).
    """
    keys = _shape_keys(kernel, shapes)
    varying = [k for k in keys if len({s[k] for s in shapes}) > 1]
    reference = {k: int(shapes[0][k]) for k in keys if k not in varying}
    x = np.array([[math.log(max(s[k], 1)) for k in varying] for s in shapes]).reshape(len(t), -1)
    logt = np.log(t)
    a = np.hstack([np.ones((len(t), 1)), x])
    coef, *_ = np.linalg.lstsq(a, logt, rcond=None)

    def loss(z):
        if abs(z[0]) > 700 or abs(z[1]) > 700 or np.any(np.abs(z[2:]) > 4):
            return math.inf
        with np.errstate(over="ignore", invalid="ignore"):
            r = np.log(math.exp(z[0]) + np.exp(z[1] + x @ z[2:])) - logt
        v = float(r @ r)
        return v if math.isfinite(v) else math.inf

    coef = np.concatenate([coef[:1], np.clip(coef[1:], -3.9, 3.9)])
    starts = [np.concatenate([[math.log(float(t.min()) * 0.01)], coef]),
              np.concatenate([[math.log(float(t.min()) * 0.5)], coef])]
    z = _minimize(loss, starts)
    return {"t0_s": math.exp(z[0]), "log_coef": float(z[1]),
            "exponents": {k: float(v) for k, v in zip(varying, z[2:])},
            "reference": reference, **ab}


def _eval_product(p, f, b, kernel: str, shapes: Sequence[Mapping[str, int]]) -> np.ndarray:
    out = np.empty(len(shapes))
    ab = {"flop_per_s": p.get("flop_per_s"), "bytes_per_s": p.get("bytes_per_s")}
    for i, s in enumerate(shapes):
        scale = math.exp(p["log_coef"] + sum(e * math.log(max(s[k], 1))
                                             for k, e in p["exponents"].items()))
        if any(s[k] != v for k, v in p["reference"].items()):
            fr, br = get_kernel(kernel).work({**s, **p["reference"]})
            w_ref = float(_work_s(ab, [fr], [br])[0])
            w = float(_work_s(ab, [f[i]], [b[i]])[0])
            scale *= w / w_ref if w_ref > 0 else 1.0
        out[i] = p["t0_s"] + scale
    return out


_FITTERS = {"roofline": _fit_roofline, "linear": _fit_linear,
            "powerlaw": _fit_powerlaw, "loglog": _fit_loglog, "product": _fit_product}
_EVALS = {"roofline": _eval_roofline, "linear": _eval_linear,
          "powerlaw": _eval_powerlaw, "loglog": _eval_loglog}


# ---------------------------------------------------------------------------------------------
# public API


def relative_errors(pred: Sequence[float], meas: Sequence[float]) -> np.ndarray:
    """Per-point ``|pred - meas| / meas`` (fractions)."""
    p, m = np.asarray(pred, float), np.asarray(meas, float)
    return np.abs(p - m) / m


def _folds(n: int) -> list[np.ndarray]:
    if n <= LOO_MAX_POINTS:
        return [np.array([i]) for i in range(n)]
    return [np.arange(i, n, 10) for i in range(10)]


def _fit_all(models: Sequence[str], f, b, t, kernel: str,
             shapes: Sequence[Mapping[str, int]]) -> dict[str, dict[str, Any]]:
    """Fit every model in *models*; the roofline fit is shared as the 1-D work axis."""
    out: dict[str, dict[str, Any]] = {}
    ab = None
    if any(m != "linear" for m in models):
        roof = _fit_roofline(f, b, t)
        ab = {"flop_per_s": roof["flop_per_s"], "bytes_per_s": roof["bytes_per_s"]}
        if "roofline" in models:
            out["roofline"] = roof
    for m in models:
        if m == "linear":
            out[m] = _fit_linear(f, b, t)
        elif m in ("powerlaw", "loglog"):
            out[m] = _FITTERS[m](f, b, t, ab)
        elif m == "product":
            out[m] = _fit_product(f, b, t, ab, kernel, shapes)
    return out


def _evaluate(model: str, params, f, b, kernel: str, shapes) -> np.ndarray:
    if model == "product":
        return _eval_product(params, f, b, kernel, shapes)
    return _EVALS[model](params, f, b)


def heldout_predictions(models: Sequence[str], f: np.ndarray, b: np.ndarray, t: np.ndarray,
                        kernel: str, shapes: Sequence[Mapping[str, int]]) -> dict[str, np.ndarray]:
    """Predict every point with each model fitted on the other points (LOO or 10-fold)."""
    pred = {m: np.empty_like(t) for m in models}
    for test in _folds(len(t)):
        train = np.setdiff1d(np.arange(len(t)), test)
        fits = _fit_all(models, f[train], b[train], t[train], kernel, [shapes[i] for i in train])
        for m in models:
            pred[m][test] = _evaluate(m, fits[m], f[test], b[test], kernel, [shapes[i] for i in test])
    return pred


def heldout_point_predictions(fit: Mapping[str, Any], kernel: str) -> tuple[np.ndarray, np.ndarray]:
    """Measured times of *fit*'s points and their held-out predictions: each point predicted
    by the fit's own model (its regime's, for a split fit) refitted without it, as
    :func:`fit_kernel` scored it. Empty arrays under 3 points."""
    pts = list(fit.get("measured", ()))
    if len(pts) < 3:
        return np.empty(0), np.empty(0)
    shapes = [p["shape"] for p in pts]
    t = np.array([float(p["median_s"]) for p in pts])
    f, b = _features(kernel, shapes, None)
    groups = [(fit, np.arange(len(t)))]
    if fit.get("regimes"):
        labels = point_regimes(fit, kernel)
        groups = [(sub, np.array([i for i, lab in enumerate(labels) if lab == r], dtype=int))
                  for r, sub in fit["regimes"].items()]
        rest = np.array([i for i, lab in enumerate(labels) if lab not in fit["regimes"]], dtype=int)
        if len(rest):  # not written by fit_kernel; a hand-made table's stray points: the joint fit
            groups.append((fit, np.arange(len(t))))
    pred = np.full(len(t), np.nan)
    for sub, idx in groups:
        if len(idx) < 3:
            continue
        keep = np.isnan(pred[idx])
        got = heldout_predictions([sub["model"]], f[idx], b[idx], t[idx], kernel,
                                  [shapes[i] for i in idx])[sub["model"]]
        pred[idx[keep]] = got[keep]
    return t, pred


def heldout_point_errors(fit: Mapping[str, Any], kernel: str) -> list[float]:
    """Per measured point of *fit*: |held-out prediction - measured| / measured (a fraction),
    from :func:`heldout_point_predictions`. The median of these is the fit's
    ``heldout_error``; their spread gives its interval. In the order of ``fit["measured"]``
    (NaN for a point that could not be held out)."""
    t, pred = heldout_point_predictions(fit, kernel)
    return [float(e) for e in relative_errors(pred, t)]


def fit_kernel(points: Sequence[Mapping[str, Any]], kernel: str,
               models: Sequence[str] | None = None,
               shape_overrides: Mapping[str, int] | None = None) -> dict[str, Any]:
    """Fit the candidate models to measured points of *kernel* and keep the best held-out one.

    Parameters
    ----------
    points : sequence of mapping
        Measured points, each with ``shape`` (a kernel shape; defaults may be omitted) and
        ``median_s`` (the measured time per call, s, > 0). Extra keys are ignored.
    kernel : str
        Kernel name in :data:`hetsim.kernels.KERNELS`; its ``work(shape)`` gives the features.
    models : sequence of str, optional
        Candidates to try (default :data:`FIT_MODELS`).
    shape_overrides : mapping, optional
        Implementation-variant shape keys to pin when predicting. By default the
        :data:`VARIANT_KEYS` of the kernel are taken from the points (they must agree).

    Returns
    -------
    dict
        The table's ``fit`` object: ``model``, ``params``, ``heldout_error`` (median relative
        error over held-out points, a fraction; None with fewer than 3 points),
        ``heldout_method``, ``candidates`` (model -> held-out error), ``insample_error``,
        ``num_points``, ``range`` (``flop`` and ``bytes`` [min, max] measured),
        ``shape_overrides``, ``kernel`` and ``measured`` (resolved shape and median time of
        each point, used verbatim for exactly matching queries). For a kernel with regimes
        also ``regime_points`` (regime -> points) and, where each regime had enough points,
        ``joint_heldout_error`` and ``split_heldout_error``; when the split won, ``regimes``
        (regime -> the fields above for its points alone) and ``heldout_error``,
        ``heldout_method`` and ``insample_error`` over all points, each predicted by its own
        regime's fit (see module doc).

    Raises
    ------
    ValueError
        No points, a non-positive time, an unknown model, or points that disagree on a
        variant key.
    """
    if not points:
        raise ValueError(f"fit_kernel({kernel!r}): no points to fit")
    models = tuple(models or FIT_MODELS)
    unknown = [m for m in models if m not in _FITTERS]
    if unknown:
        raise ValueError(f"unknown fit model(s) {unknown}; known: {list(FIT_MODELS)}")
    spec = get_kernel(kernel)
    shapes = [spec.resolve(p["shape"]) for p in points]
    if shape_overrides is None:
        shape_overrides = {}
        for key in VARIANT_KEYS.get(kernel, ()):
            values = {s[key] for s in shapes}
            if len(values) > 1:
                raise ValueError(f"fit_kernel({kernel!r}): points mix {key}={sorted(values)}; "
                                 "fit each implementation variant separately")
            shape_overrides[key] = values.pop()
    t = np.array([float(p["median_s"]) for p in points])
    if not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise ValueError(f"fit_kernel({kernel!r}): median_s must be finite and > 0")
    fshapes = [{**sh, **shape_overrides} for sh in shapes]
    f, b = _features(kernel, fshapes, None)

    out = _select(models, f, b, t, kernel, fshapes)
    del out["errors"], out["insample"]
    out.update(shape_overrides=dict(shape_overrides), kernel=kernel,
               measured=[_measured(p, {**sh, **shape_overrides}, ti) for p, sh, ti in zip(points, shapes, t)])
    if spec.regimes:
        _split_regimes(out, models, f, b, t, kernel, fshapes)
    return out


def _range(kernel: str, f: np.ndarray, b: np.ndarray, fshapes: Sequence[Mapping[str, int]]) -> dict:
    return {"flop": [float(f.min()), float(f.max())], "bytes": [float(b.min()), float(b.max())],
            "shape": {k: [min(sh[k] for sh in fshapes), max(sh[k] for sh in fshapes)]
                      for k in _shape_keys(kernel, fshapes)}}


def _select(models: Sequence[str], f: np.ndarray, b: np.ndarray, t: np.ndarray, kernel: str,
            fshapes: Sequence[Mapping[str, int]]) -> dict[str, Any]:
    """Model selection on one set of points: the fit fields of :func:`fit_kernel` (no
    ``measured``), plus ``errors``: the chosen model's held-out error per point (None under 3)."""
    n = len(t)
    candidates: dict[str, float | None] = {}
    errors = None
    if n >= 3:
        method = ("leave-one-out" if n <= LOO_MAX_POINTS else "10-fold") + \
            f" over {n} points; error = median |pred - meas| / meas"
        preds = heldout_predictions(models, f, b, t, kernel, fshapes)
        for m in models:
            err = float(np.median(relative_errors(preds[m], t)))
            candidates[m] = err if math.isfinite(err) else None
        finite = {m: e for m, e in candidates.items() if e is not None}
        best = min(finite.values()) if finite else None
        chosen = next(m for m in models if best is None or
                      (candidates[m] is not None and candidates[m] <= best + SIMPLER_MARGIN))
        errors = relative_errors(preds[chosen], t)
    else:
        method = f"none: {n} point(s) is too few to hold any out; model chosen in-sample"
        fits = _fit_all(models, f, b, t, kernel, fshapes)
        insample = {m: float(np.median(relative_errors(_evaluate(m, fits[m], f, b, kernel, fshapes), t)))
                    for m in models}
        chosen = min(models, key=lambda m: insample[m])
        candidates = {m: None for m in models}
    params = _fit_all([chosen], f, b, t, kernel, fshapes)[chosen]
    ins = relative_errors(_evaluate(chosen, params, f, b, kernel, fshapes), t)
    return {
        "model": chosen,
        "params": params,
        "heldout_error": candidates.get(chosen),
        "heldout_method": method,
        "candidates": candidates,
        "insample_error": float(np.median(ins)),
        "num_points": n,
        "range": _range(kernel, f, b, fshapes),
        "errors": errors,
        "insample": ins,
    }


def _split_regimes(out: dict[str, Any], models, f, b, t, kernel: str,
                   fshapes: Sequence[Mapping[str, int]]) -> None:
    """Record the points per regime in *out* and, where every regime among them has enough
    points, fit each on its own; keep the split when it beats the joint fit held out."""
    spec = get_kernel(kernel)
    labels = [spec.regime(sh) for sh in fshapes]
    counts = {r: labels.count(r) for r in spec.regimes}
    out["regime_points"] = counts
    present = [r for r in spec.regimes if counts[r]]
    if len(present) < 2 or min(counts[r] for r in present) < MIN_REGIME_POINTS:
        return
    errors, ins = np.empty(len(t)), np.empty(len(t))
    subs: dict[str, dict[str, Any]] = {}
    for r in present:
        idx = np.array([i for i, lab in enumerate(labels) if lab == r])
        sub = _select(models, f[idx], b[idx], t[idx], kernel, [fshapes[i] for i in idx])
        errors[idx], ins[idx] = sub.pop("errors"), sub.pop("insample")
        subs[r] = sub
    split = float(np.median(errors))
    joint = out["heldout_error"]
    out["joint_heldout_error"], out["split_heldout_error"] = joint, split
    if joint is not None and split >= joint - SIMPLER_MARGIN:
        return
    out.update(regimes=subs, heldout_error=split, insample_error=float(np.median(ins)),
               heldout_method="per regime: " + "; ".join(
                   f"{r} {subs[r]['heldout_method'].split(';')[0]}" for r in present)
               + f"; error = median |pred - meas| / meas over all {len(t)} points")


def _measured(point: Mapping[str, Any], shape: dict, median_s: float) -> dict[str, Any]:
    """A fit's record of one point: its shape, warm median and (if measured) cold time."""
    out = {"shape": shape, "median_s": float(median_s)}
    cold = point.get("cold_s")
    if cold is not None and math.isfinite(float(cold)) and float(cold) > 0:
        out["cold_s"] = float(cold)
    return out


def _is_shape(point: Mapping[str, Any], full: Mapping[str, int], defaults: Mapping[str, int]) -> bool:
    """Whether a fit's measured *point* is at the resolved shape *full*. The stored shape was
    resolved when the table was written; a shape key added to the kernel since (with its
    default, e.g. GEMM's layout ``nn``) is absent there and takes its default, so an older
    table's measured shapes still price at their measurements."""
    shape = point["shape"]
    return shape == full or (len(shape) < len(full) and {**defaults, **shape} == full)


def _nearest_cold(fit: Mapping[str, Any], kernel: str, full: Mapping[str, int]) -> dict | None:
    pts = [p for p in fit.get("measured", ()) if "cold_s" in p]
    if not pts:
        return None
    spec = get_kernel(kernel)
    if fit.get("regimes"):  # a split fit: the nearest point that ran the same implementation
        mine = spec.regime(full)
        same = [p for p in pts if spec.regime(p["shape"]) == mine]
        pts = same or pts
    for p in pts:
        if _is_shape(p, full, spec.defaults):
            return p
    _, b = work_of(kernel, full)
    lb = math.log(max(b, 1.0))
    return min(pts, key=lambda p: abs(math.log(max(work_of(kernel, p["shape"])[1], 1.0)) - lb))


def cold_extra_s(fit: Mapping[str, Any], kernel: str, shape: Mapping[str, int]) -> float | None:
    """Extra time (s, may be negative) of a single cold call over the warm per-call time at
    *shape*, from a fit; None when the table has no cold times.

    A pipeline runs each op once after other ops evicted the caches (a small op costs ~50 us
    more after a large one on this project's CPU). A measured shape gives its own
    ``cold_s - median_s``. Another shape takes the measured point nearest in bytes moved (log
    distance): its extra when positive (additive: exact for the fixed per-call part), its
    ratio when the single call was the faster (on an oversubscribed machine a loop of small
    multi-threaded calls stalls more than one call, roughly in proportion to its time).
    """
    overrides = fit.get("shape_overrides") or {}
    full = {**get_kernel(kernel).resolve(shape), **overrides}
    near = _nearest_cold(fit, kernel, full)
    if near is None:
        return None
    extra = near["cold_s"] - near["median_s"]
    if _is_shape(near, full, get_kernel(kernel).defaults) or extra >= 0:
        return extra
    warm, _ = predict(fit, kernel, full)
    return warm * (near["cold_s"] / near["median_s"] - 1.0)


def regime_fit(fit: Mapping[str, Any], kernel: str, full: Mapping[str, int]) -> tuple[Mapping[str, Any], bool]:
    """The fit that prices the resolved shape *full*: its regime's own fit where *fit* was
    split, else *fit*; and whether its regime has no measured points of its own (a fit
    without regime fields: never)."""
    regimes, counts = fit.get("regimes"), fit.get("regime_points")
    if not regimes and not counts:
        return fit, False
    r = get_kernel(kernel).regime(full)
    if regimes:
        return (regimes[r], False) if r in regimes else (fit, True)
    return fit, not counts.get(r)


def point_regimes(fit: Mapping[str, Any], kernel: str) -> list[str | None]:
    """The regime of each of *fit*'s measured points (None for a kernel without regimes)."""
    spec = get_kernel(kernel)
    return [spec.regime(p["shape"]) for p in fit.get("measured", ())]


def model_label(fit: Mapping[str, Any]) -> str:
    """The fit's model as a report shows it: ``gemv: product, gemm: linear`` for a split fit."""
    regimes = fit.get("regimes")
    if regimes:
        return ", ".join(f"{r}: {sub.get('model')}" for r, sub in regimes.items())
    return str(fit.get("model"))


def predict(fit: Mapping[str, Any], kernel: str, shape: Mapping[str, int],
            cold: bool = False) -> tuple[float, bool]:
    """Predict the time of one call of *kernel* at *shape* from a table's *fit*.

    Parameters
    ----------
    fit : mapping
        A ``fit`` object as returned by :func:`fit_kernel` (and stored in tables).
    kernel : str
        Kernel name; must be the kernel the fit was made for.
    shape : mapping
        The call's shape (``hetsim.kernels`` keys; defaults may be omitted).
    cold : bool
        Price a single call after the caches were evicted (:func:`cold_extra_s` added) when
        the fit carries cold times; the warm per-call time otherwise.

    Returns
    -------
    (float, bool)
        Predicted time in s (>= 0), and whether the prediction is an extrapolation: the
        shape's work (flop or bytes) or a size lies outside the range measured in its regime,
        or its regime has no measured points (priced by the joint fit).

    Raises
    ------
    ValueError
        The fit belongs to another kernel, or names an unknown model.
    """
    if fit.get("kernel", kernel) != kernel:
        raise ValueError(f"fit is for kernel {fit['kernel']!r}, not {kernel!r}")
    overrides = fit.get("shape_overrides") or {}
    full = {**get_kernel(kernel).resolve(shape), **overrides}
    own, extrapolated = regime_fit(fit, kernel, full)
    model = own.get("model")
    if model not in _FITTERS:
        raise ValueError(f"unknown fit model {model!r}; known: {list(FIT_MODELS)}")
    extra = (cold_extra_s(fit, kernel, full) or 0.0) if cold else 0.0
    defaults = get_kernel(kernel).defaults
    for point in fit.get("measured", ()):  # a measured shape: its measurement, not the model
        if _is_shape(point, full, defaults):
            return max(float(point["median_s"]) + extra, 0.0), False
    f, b = work_of(kernel, full)
    seconds = float(_evaluate(model, own["params"], np.array([f]), np.array([b]), kernel, [full])[0])
    rng = own.get("range") or {}
    for value, key in ((f, "flop"), (b, "bytes")):
        if key in rng:
            lo, hi = rng[key]
            if value < lo * (1 - _RANGE_SLACK) or value > hi * (1 + _RANGE_SLACK):
                extrapolated = True
    for key, (lo, hi) in (rng.get("shape") or {}).items():
        if key in full and not lo <= full[key] <= hi:
            extrapolated = True
    return max(max(seconds, 0.0) + extra, 0.0), extrapolated


__all__ = ["FIT_MODELS", "MIN_REGIME_POINTS", "fit_kernel", "predict", "cold_extra_s", "heldout_point_errors",
           "heldout_point_predictions", "point_regimes", "regime_fit", "model_label", "work_of", "relative_errors",
           "heldout_predictions"]
