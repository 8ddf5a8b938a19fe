"""NeuSight's measured PyTorch kernel latencies as ``hetsim validate --against`` rows.

NeuSight (Lee et al., "Forecasting GPU Performance for Deep Learning Training and Inference",
ASPLOS'25; public copy github.com/trsharm25/NeuSight, MIT licence, Georgia Tech and Microsoft)
publishes the per-kernel latencies it trained and tested its predictor on. hetsim never used
them, so they are held-out data for its GPU model. How they were measured
(``neusight/Dataset/collect.py``): one eager PyTorch call on fp32 tensors, bracketed by two CUDA
events with the GPU otherwise idle, 25 repetitions, the mean of the 5 fastest, in ms; cuDNN TF32
off and PyTorch's default (no TF32) for matmuls, so the GEMMs run on the fp32 SIMT/FFMA kernels
(``ampere_sgemm_*``, ``sm80_xmma_gemm_f32f32_*``) or, on the MI210, rocBLAS/Tensile's fp32
MFMA kernels. The event pair brackets the host's dispatch of the call too, so a tiny call costs
what eager PyTorch costs per op, not the kernel alone. Torch 2.1.0 (CUDA 12.1) on the NVIDIA
GPUs, 2.4.1 (ROCm) on the MI210.

Rows used (only GPUs hetsim has a preset for):

* ``scripts/asplos/data/dataset/test/{linear,bmm,elem,softmax,ln}.csv``: the rows of
  ``NVIDIA A100 80GB PCIe`` (preset ``a100-pcie-80gb``) and ``NVIDIA H100 80GB HBM3``
  (``h100-sxm``; it has GEMM rows only). NeuSight's test split: its large shapes.
* ``scripts/asplos/data/dataset_amd/test/collect/{linear,bmm}/p2.4.1/AMD Instinct MI210.csv``
  and ``dataset_amd/train/collect/<op>/p2.4.1/AMD Instinct MI210.csv`` (elementwise ops,
  softmax, ln; NeuSight's training split, small to mid shapes) for ``mi210``.

NeuSight's own A100 training device, an A100-PCIE-40GB, has no hetsim preset and is left out.

Mapping to hetsim kernels (all fp32, ``elem_bytes=4``, stack ``pytorch-eager``):

* ``linear`` [B,M,N] through ``nn.Linear(N, K)``: ``gemm`` m = B*M, k = N, n = K, layout
  ``nn=0`` (the weight is [K,N], k-contiguous: Tensile's ``Cijk_Alik_Bljk`` on the MI210);
* ``bmm`` [B,M,N] @ [B,N,K]: ``bmm`` batch = B, m = M, k = N, n = K, layout ``nn=1`` (the
  second operand is n-contiguous: Tensile's ``Cijk_Ailk_Bljk``);
* ``add mul div`` [B,H] with [B,H]: ``elementwise`` num_elems = B*H, inputs = 2;
  ``addu mulu divu`` (tensor with a scalar), ``relu gelu tanh``: inputs = 1;
* ``pow`` / ``powu``: kernel ``pow``, the same shape (its per-element cost is the stack's);
* ``softmax`` over the last dim of [B,H]: ``softmax`` rows = B, cols = H;
* ``ln`` (``nn.LayerNorm(H)``): ``layernorm`` rows = B, cols = H.

Every row's ``timing`` is ``isolated`` (one call between two events: see
:mod:`hetsim.report.validation`), its ``source`` the file's URL at the commit, its ``measured_on`` the GPU, torch
version, the kernel that matched and how many kernels the call launched (NeuSight's
``Kernels`` column; ROCm's ``linear`` launches a bias-broadcast copy before the GEMM).

Convert (a clone of the repository at the commit; the commit is read from it)::

    git clone https://github.com/trsharm25/NeuSight && git -C NeuSight checkout db1fdc9
    python -m calibration.neusight --csv neusight.csv NeuSight

``--sample N`` keeps at most N rows per (device, op), spread evenly over each op's sizes
(deterministic; how ``tests/data/neusight_kernels.csv`` was cut). Then price them and break the
error down by kernel family and measured-time range::

    hetsim validate --against neusight.csv --detach-tables --out out/neusight
    python -m calibration.neusight --report out/neusight/validation.csv [--held-out]

Held out by shape: :func:`half` puts every (device, kernel, shape) in the ``fit`` or the
``check`` half (a CRC of the row's text, so deterministic and blind to the times). Constants
fitted to these data use the fit half only (``--fit-gemm DEVICE neusight.csv`` prints a
``gemm_tiles_by_dtype.fp32`` block: the tile/wave model refitted on the device's fp32
``linear`` and ``bmm`` calls); ``--report ... --held-out`` keeps the check half.
"""

from __future__ import annotations

import csv
import re
import zlib
import subprocess
import sys
from pathlib import Path

from hetsim.report.validation import format_shape

REPO = "trsharm25/NeuSight"
#: NeuSight GPU name -> hetsim device preset
DEVICES = {"NVIDIA A100 80GB PCIe": "a100-pcie-80gb", "NVIDIA H100 80GB HBM3": "h100-sxm",
           "AMD Instinct MI210": "mi210"}
BINARY = ("add", "mul", "pow", "div")
UNARY = ("addu", "mulu", "powu", "divu", "relu", "gelu", "tanh")
NVIDIA_FILES = tuple(f"scripts/asplos/data/dataset/test/{op}.csv"
                     for op in ("linear", "bmm", "elem", "softmax", "ln"))
AMD_FILES = tuple(f"scripts/asplos/data/dataset_amd/test/collect/{op}/p2.4.1/AMD Instinct MI210.csv"
                  for op in ("linear", "bmm")) + tuple(
    f"scripts/asplos/data/dataset_amd/train/collect/{op}/p2.4.1/AMD Instinct MI210.csv"
    for op in BINARY + UNARY + ("softmax", "ln"))
HEADER = ["device", "kernel", "shape", "time_s", "power_w", "group", "label", "stack", "dtype",
          "timing", "measured_on", "source"]


def kernel_and_shape(op: str, row: dict[str, str]) -> tuple[str, dict[str, int]]:
    """hetsim kernel and shape of one NeuSight row (see module doc)."""
    if op in ("linear", "bmm"):
        b, m, n, k = (int(row[c]) for c in "BMNK")
        if op == "linear":
            return "gemm", {"m": b * m, "n": k, "k": n, "elem_bytes": 4, "nn": 0}
        return "bmm", {"batch": b, "m": m, "n": k, "k": n, "elem_bytes": 4, "nn": 1}
    b, h = int(row["B"]), int(row["H"])
    if op in ("pow", "powu"):
        return "pow", {"num_elems": b * h, "inputs": 2 if op in BINARY else 1, "elem_bytes": 4}
    if op in BINARY or op in UNARY:
        return "elementwise", {"num_elems": b * h, "inputs": 2 if op in BINARY else 1, "elem_bytes": 4}
    if op == "softmax":
        return "softmax", {"rows": b, "cols": h, "elem_bytes": 4}
    if op == "ln":
        return "layernorm", {"rows": b, "cols": h, "elem_bytes": 4}
    raise ValueError(f"NeuSight op {op!r} has no hetsim kernel")


def _short_kernel(name: str) -> str:
    """A readable kernel name: Tensile's up to the macro tile, C++ names without arguments."""
    name = name.strip()
    if name.lower().startswith("cijk_"):
        return "_".join(name.split("_")[:6])
    name = re.sub(r"^void\s+", "", name)
    return re.split(r"[<(]", name, maxsplit=1)[0]


def _commit(repo_dir: Path) -> str:
    try:
        out = subprocess.run(["git", "-C", str(repo_dir), "rev-parse", "HEAD"], capture_output=True,
                             text=True, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def neusight_rows(repo_dir: str | Path, commit: str | None = None) -> list[list[str]]:
    """Every usable row of the NeuSight files under *repo_dir*, in the validate CSV layout."""
    repo_dir = Path(repo_dir)
    commit = commit or _commit(repo_dir)
    out = []
    for rel in NVIDIA_FILES + AMD_FILES:
        path = repo_dir / rel
        if not path.is_file():
            raise FileNotFoundError(f"{path}: not found (a NeuSight checkout at {REPO}?)")
        url = f"https://github.com/{REPO}/blob/{commit}/{rel.replace(' ', '%20')}"
        split = "test" if "/test/" in rel else "train"
        with open(path, newline="") as fh:
            for row in csv.DictReader(fh):
                dev = DEVICES.get(row["Device"].strip())
                if dev is None:
                    continue
                op = row["OPName"].strip()
                kernel, shape = kernel_and_shape(op, row)
                t = float(row["Latency"]) * 1e-3
                nk = row.get("Kernels", "").count(";") or 1
                torch_v = row.get("Torch Version") or ("p2.4.1" if "p2.4.1" in rel else "")
                note = (f"{row['Device'].strip()}, PyTorch {torch_v.lstrip('p')} eager fp32, "
                        f"{_short_kernel(row['Kernel Name'])}, {nk} kernel{'s' if nk > 1 else ''} "
                        f"per call; mean of the 5 fastest of 25 event timings")
                out.append([dev, kernel, format_shape(shape), repr(t), "",
                            f"neusight-{split}", op, "pytorch-eager", "fp32", "isolated", note, url])
    return out


def half(device: str, kernel: str, shape: str) -> str:
    """``fit`` or ``check``: the half of the held-out split a (device, kernel, shape) is in.
    The layout key ``nn`` is left out of the hash, so adding it kept every row in its half."""
    shape = ";".join(kv for kv in shape.split(";") if not kv.startswith("nn="))
    return "check" if zlib.crc32(f"{device}|{kernel}|{shape}".encode()) & 1 else "fit"


#: candidate output tiles of the fp32 fit: the bf16 fit's, plus the narrow and small tiles of
#: the fp32 SIMT kernels NeuSight's rows name (ampere_sgemm_32x128, 64x32, ...; rocBLAS MT32x32)
FP32_TILES = ((256, 128), (128, 256), (128, 128), (128, 64), (64, 128), (64, 64), (128, 32),
              (32, 128), (32, 32))


def fit_gemm(rows, device: str, dtype: str = "fp32", alias_stride_bytes: int | None = None) -> dict:
    """The tile/wave model of *device* fitted to the fit half of its *dtype* ``gemm`` and
    ``bmm`` rows (validate Measurements): the device's compute units and k splits, the
    FP32_TILES candidates, and the k-loop search started at 8 elements (SIMT k-steps).

    With *alias_stride_bytes*, the calls whose operands' rows (k x element bytes for A, and
    for B as the layout ``nn`` says) are both multiples of that stride are left out of the tile fit, and ``alias_efficiency`` (the
    factor on their compute rate) is then fitted to them alone with the tiles fixed (a grid
    of 0.0005 steps, minimum mean relative error), so the slow calls neither drag the tile
    efficiencies down nor the tiles bend to fit them. ``loss`` is the fit-half mean relative
    error of all the rows, so strides can be compared."""
    import numpy as np

    from hetsim.costs.gemm_tiles import fit_tiles, rows_at_stride, tile_times
    from hetsim.loader import load_device_preset
    from hetsim.report.validation import format_shape

    dev = load_device_preset(device)
    gt = dev.gemm_tiles
    eb = {"fp32": 4, "bf16": 2, "fp16": 2}[dtype]
    sel = [r for r in rows if r.device == device and r.kernel in ("gemm", "bmm")
           and r.shape.get("elem_bytes") == eb
           and half(r.device, r.kernel, format_shape(r.shape)) == "fit"]
    if not sel:
        raise ValueError(f"no fit-half {dtype} gemm/bmm rows for {device}")
    tmpl = {"compute_units": gt.compute_units,
            "tiles": [{"m": m, "n": n, "efficiency": 0.7} for m, n in FP32_TILES],
            "split_k": list(gt.split_k), "k_overhead": 8.0, "overlap_exponent": 2.0,
            "memory_efficiency": 0.9, "overhead_s": 5e-6, "wave_tail": 0.5}
    col = {c: np.array([r.shape.get(c, 1) for r in sel]) for c in ("m", "n", "k", "batch")}
    col["nn"] = np.array([r.shape.get("nn", 0) for r in sel])
    t = np.array([r.time_s for r in sel])
    aliased = (rows_at_stride(alias_stride_bytes, col["k"], col["n"], col["nn"], eb)
               if alias_stride_bytes else np.zeros(len(t), bool))
    if alias_stride_bytes and (not aliased.any() or aliased.all()):
        raise ValueError(f"stride {alias_stride_bytes}: no fit-half rows on one side of it")
    keep = ~aliased
    peak, bw = float(dev.peak_flop_per_s[dtype]), float(dev.memory.achievable_bandwidth_Bps)
    p = fit_tiles(tmpl, peak, bw, col["m"][keep], col["n"][keep], col["k"][keep], t[keep],
                  batch=col["batch"][keep], elem_bytes=eb, k_overhead0=8.0)
    if alias_stride_bytes:
        a = {c: v[aliased] for c, v in col.items()}
        best = (np.inf, 1.0)
        for eff in np.arange(0.05, 1.0 + 1e-9, 0.0005):
            q = {**p, "alias_stride_bytes": int(alias_stride_bytes), "alias_efficiency": float(eff)}
            pred = tile_times(q, peak, bw, a["m"], a["n"], a["k"], eb, a["batch"], a["nn"])
            best = min(best, (float(np.mean(np.abs(pred - t[aliased]) / t[aliased])), round(float(eff), 4)))
        p.update(alias_stride_bytes=int(alias_stride_bytes), alias_efficiency=best[1])
        p["n_aliased"] = int(aliased.sum())
    pred = tile_times(p, peak, bw, col["m"], col["n"], col["k"], eb, col["batch"], col["nn"])
    p["loss"] = round(float(np.mean(np.abs(pred - t) / t)), 5)
    # every row was timed alone: the fitted per-call time is the stream overhead (the device's
    # own tile fit's, from back-to-back profiles) plus the host dispatch an isolated call holds
    stream = float(gt.overhead_s)
    p["isolated_s"] = round(max(0.0, p["overhead_s"] - stream), 9)
    p["overhead_s"] = stream
    p["dtype"] = dtype
    p["n_rows"] = len(sel)
    return p


#: row strides --alias-scan tries (bytes): powers of two, 16 KiB .. 1 MiB
ALIAS_STRIDES = tuple(2 ** e for e in range(14, 21))


#: row-wise kernels whose stack terms --fit-rows fits, and the families it fits them for
ROWWISE = ("softmax", "layernorm")


def fit_rowwise(rows, device: str, kernel: str, big_s: float = 50e-6, tiny_s: float = 1e-6) -> dict:
    """Stack terms of *kernel* (softmax / layernorm) on *device*, from the fit half of its
    rows priced as they stand (stack ``pytorch-eager``, so the passes over the row come from
    the stack's ``shape``/``shape_above``): the memory efficiency is the median of
    ``bytes / (bandwidth x (time - launch and dispatch))`` over rows of at least *big_s*; the
    floor the median of ``time - launch and dispatch`` over rows whose memory time at that
    efficiency is below *tiny_s* (``None`` where fewer than 20 such rows exist)."""
    import numpy as np

    from hetsim.costs.gpu import price_gpu
    from hetsim.costs.stacks import load_stack
    from hetsim.loader import load_device_preset
    from hetsim.report.validation import format_shape

    dev = load_device_preset(device)
    stack = load_stack("pytorch-eager")
    bw = float(dev.memory.achievable_bandwidth_Bps)
    sel = [r for r in rows if r.device == device and r.kernel == kernel
           and half(r.device, r.kernel, format_shape(r.shape)) == "fit"]
    if not sel:
        raise ValueError(f"no fit-half {kernel} rows for {device}")
    priced = [price_gpu(dev, r.kernel, r.shape, r.dtype, stack) for r in sel]
    t = np.array([r.time_s for r in sel])
    over = np.array([p.overhead_s for p in priced])
    nbytes = np.array([p.mem_bytes for p in priced])
    big = t >= big_s
    eff = float(np.median(nbytes[big] / (bw * (t[big] - over[big])))) if big.sum() >= 20 else None
    floor = None
    if eff is not None:
        tiny = nbytes / (bw * eff) < tiny_s
        if tiny.sum() >= 20:
            floor = float(np.median(t[tiny] - over[tiny]))
    return {"memory": None if eff is None else round(min(eff, 1.0), 4), "n_big": int(big.sum()),
            "floor_s": None if floor is None else round(floor, 8), "n": len(sel)}


def fit_pow(rows, device: str, big_s: float = 50e-6) -> dict:
    """Vector operations per element of ``pow`` on *device*: over the fit-half ``pow`` rows of
    at least *big_s*, the median of ``(time - launch and dispatch) x rate / elements``, where
    *rate* is the fp32 peak times the stack's compute fraction for ``pow`` on the device's
    family (stack ``pytorch-eager`` as it stands). Also the element rates of the binary and
    unary rows, which show whether the op is compute-bound (equal rates) or memory-bound
    (rates in the ratio of the bytes per element, 8:12)."""
    import numpy as np

    from hetsim.costs.gpu import price_gpu
    from hetsim.costs.stacks import load_stack
    from hetsim.loader import load_device_preset
    from hetsim.report.validation import format_shape

    dev = load_device_preset(device)
    stack = load_stack("pytorch-eager")
    sel = [r for r in rows if r.device == device and r.kernel == "pow" and r.time_s >= big_s
           and half(r.device, r.kernel, format_shape(r.shape)) == "fit"]
    if len(sel) < 20:
        raise ValueError(f"fewer than 20 fit-half pow rows of >= {big_s * 1e6:.0f} us for {device}")
    _, _, _, eff = stack.entry("pow", "elementwise", dev.family)
    frac = float(eff.compute) if eff is not None else float(dev.efficiency["elementwise"].compute)
    rate = float(dev.peak_flop_per_s["fp32"]) * frac
    over = np.array([price_gpu(dev, "pow", r.shape, "fp32", stack).overhead_s for r in sel])
    t = np.array([r.time_s for r in sel])
    n = np.array([float(r.shape["num_elems"]) for r in sel])
    inputs = np.array([int(r.shape.get("inputs", 2)) for r in sel])
    per = (t - over) * rate / n
    elems = n / (t - over)
    return {"flop_per_elem": round(float(np.median(per)), 1), "rate_flop_per_s": rate, "n": len(sel),
            "p10_p90": [round(float(x), 1) for x in np.percentile(per, [10, 90])],
            "elem_per_s_binary": float(np.median(elems[inputs == 2])),
            "elem_per_s_unary": float(np.median(elems[inputs == 1]))}


def _size(row: list[str]) -> int:
    """FLOP-free size key for spreading a sample: the product of the shape's sizes."""
    n = 1
    for part in row[2].split(";"):
        k, _, v = part.partition("=")
        if k not in ("elem_bytes", "inputs"):
            n *= int(v)
    return n


def sample(rows: list[list[str]], per_op: int) -> list[list[str]]:
    """At most *per_op* rows per (device, op), evenly spaced over the op's rows sorted by size
    (deterministic), so small, mid and large calls all stay."""
    groups: dict[tuple[str, str], list[list[str]]] = {}
    for r in rows:
        groups.setdefault((r[0], r[6]), []).append(r)
    out = []
    for key in sorted(groups):
        g = sorted(groups[key], key=lambda r: (_size(r), r[2], float(r[3])))
        if len(g) > per_op:
            step = (len(g) - 1) / (per_op - 1) if per_op > 1 else 0
            g = [g[round(i * step)] for i in range(per_op)]
        out += g
    return out


def write_csv(rows: list[list[str]], out: str | Path) -> int:
    with open(out, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        w.writerows(rows)
    return len(rows)


#: measured-time ranges of the --report breakdown (s)
RANGES = ((0.0, 20e-6, "< 20 us"), (20e-6, 100e-6, "20-100 us"), (100e-6, 1e-3, "0.1-1 ms"),
          (1e-3, float("inf"), ">= 1 ms"))


def family(kernel: str, op: str) -> str:
    """Kernel family of a row: ``pow``/``powu`` (kernel ``pow``; ``elementwise`` in CSVs
    converted before it existed) apart from the other elementwise ops."""
    return "elementwise-pow" if kernel == "pow" or (kernel == "elementwise" and op in ("pow", "powu")) else kernel


def report(validation_csv: str | Path, held_out: bool = False) -> list[dict]:
    """Error distribution per (device, family, time range) and per (device, family) of a
    ``hetsim validate`` per-row CSV: n, median / p90 / p95 / worst |error| and the signed
    median; *held_out* keeps only the rows in the ``check`` half (:func:`half`)."""
    import numpy as np

    groups: dict[tuple[str, str, str], list[float]] = {}
    with open(validation_csv, newline="") as fh:
        for r in csv.DictReader(fh):
            if held_out and half(r["device"], r["kernel"], r["shape"]) != "check":
                continue
            meas, err = float(r["measured_s"]), float(r["error"])
            fam = family(r["kernel"], r["label"])
            rng = next(name for lo, hi, name in RANGES if lo <= meas < hi)
            for key in ((r["device"], fam, rng), (r["device"], fam, "all")):
                groups.setdefault(key, []).append(err)
    order = {name: i for i, (_, _, name) in enumerate(RANGES)} | {"all": len(RANGES)}
    out = []
    for key in sorted(groups, key=lambda k: (k[0], k[1], order[k[2]])):
        e = np.array(groups[key])
        a = np.abs(e)
        out.append({"device": key[0], "family": key[1], "range": key[2], "n": len(e),
                    "median": float(np.median(a)), "p90": float(np.percentile(a, 90)),
                    "p95": float(np.percentile(a, 95)),
                    "worst": float(a.max()), "signed_median": float(np.median(e))})
    return out


def _device_and_csv(argv: list[str], more: str = "") -> bool:
    """``--fit-* DEVICE NEUSIGHT.csv``: True when so, else the usage on stderr and False."""
    if len(argv) == 3 and Path(argv[2]).is_file():
        return True
    print(f"usage: python -m calibration.neusight {argv[0]} DEVICE NEUSIGHT.csv{more}", file=sys.stderr)
    return False


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--fit-gemm":
        scan = "--alias-scan" in argv
        argv = [a for a in argv if a != "--alias-scan"]
        if not _device_and_csv(argv, " [--alias-scan] (the converted CSV)"):
            return 2
        from hetsim.report.validation import read_measurements

        try:
            rows = read_measurements(argv[2])
            p = fit_gemm(rows, argv[1])
            if scan:  # the stride whose joint fit has the lowest fit-half error, if any beats none
                print(f"# alias stride none: fit-half mean error {p['loss']}")
                for stride in ALIAS_STRIDES:
                    try:
                        q = fit_gemm(rows, argv[1], alias_stride_bytes=stride)
                    except ValueError as e:
                        print(f"# alias stride {stride}: {e}")
                        continue
                    print(f"# alias stride {stride}: fit-half mean error {q['loss']}, "
                          f"alias_efficiency {q['alias_efficiency']}")
                    if q["loss"] < p["loss"]:
                        p = q
        except (ValueError, KeyError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        print("gemm_tiles_by_dtype:\n  fp32:")
        print(f"    compute_units: {p['compute_units']}\n    tiles:")
        for t in p["tiles"]:
            print(f"      - {{m: {t['m']}, n: {t['n']}, efficiency: {t['efficiency']}}}")
        print(f"    split_k: {p['split_k']}")
        for key in ("k_overhead", "overlap_exponent", "memory_efficiency", "overhead_s", "wave_tail",
                    "isolated_s", "alias_stride_bytes", "alias_efficiency"):
            if key in p:
                print(f"    {key}: {p[key]}")
        print(f"    dtype: fp32\n    # fitted on {p['n_rows']} fit-half rows"
              + (f", {p['n_aliased']} of them aliased" if "n_aliased" in p else ""))
        return 0
    if argv and argv[0] == "--fit-rows":
        if not _device_and_csv(argv):
            return 2
        from hetsim.report.validation import read_measurements

        rows = read_measurements(argv[2])
        for kernel in ROWWISE:
            try:
                print(kernel, fit_rowwise(rows, argv[1], kernel))
            except ValueError as e:
                print(f"{kernel}: {e}")
        return 0
    if argv and argv[0] == "--fit-pow":
        if not _device_and_csv(argv):
            return 2
        from hetsim.report.validation import read_measurements

        try:
            print(fit_pow(read_measurements(argv[2]), argv[1]))
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        return 0
    if argv and argv[0] == "--report":
        held = "--held-out" in argv
        argv = [a for a in argv if a != "--held-out"]
        if len(argv) != 2 or not Path(argv[1]).is_file():
            print("usage: python -m calibration.neusight --report OUT/validation.csv [--held-out] "
                  "(the per-row CSV of hetsim validate)", file=sys.stderr)
            return 2
        print(f"{'device':15} {'family':16} {'time range':10} {'n':>6} {'median':>7} {'p90':>7} "
              f"{'p95':>7} {'worst':>7} {'signed':>7}")
        for g in report(argv[1], held):
            print(f"{g['device']:15} {g['family']:16} {g['range']:10} {g['n']:6d} "
                  f"{g['median']:7.1%} {g['p90']:7.1%} {g['p95']:7.1%} {g['worst']:7.1%} "
                  f"{g['signed_median']:+7.1%}")
        return 0
    per_op = None
    if "--sample" in argv:
        i = argv.index("--sample")
        try:
            per_op = int(argv[i + 1])
        except (IndexError, ValueError):
            print("--sample needs a whole number of rows per (device, op)", file=sys.stderr)
            return 2
        argv = argv[:i] + argv[i + 2:]
    if len(argv) != 3 or argv[0] != "--csv":
        print("usage: python -m calibration.neusight --csv OUT.csv NEUSIGHT_DIR [--sample N] | "
              "--report OUT/validation.csv",
              file=sys.stderr)
        return 2
    try:
        rows = neusight_rows(argv[2])
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if per_op:
        rows = sample(rows, per_op)
    n = write_csv(rows, argv[1])
    print(f"wrote {argv[1]}: {n} measured calls on {', '.join(sorted({r[0] for r in rows}))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
