"""KernelBench's eager-PyTorch baseline timings as ``hetsim validate --against`` rows.

KernelBench (Ouyang et al., github.com/ScalingIntelligence/KernelBench, MIT licence, Stanford
Scaling Intelligence Lab) publishes, per GPU, the time of each reference problem run in eager
PyTorch: ``results/timing/<GPU>/baseline_time_torch.json`` (``level1`` -> problem file ->
``mean``/``std``/``min``/``max`` in ms over ``num_trials`` = 100 calls, ``hardware`` = the
``torch.cuda.get_device_name``). The shapes are in the problem files
(``KernelBench/level1/<n>_<Name>.py``: module constants and ``get_inputs``), which changed
between releases, so a timing file must be converted with the problem files of the commit it
was written at. hetsim never used these timings: they are a held-out check.

How a time was taken (``time_execution_with_cuda_event``): ``model(*inputs)`` -- an
``nn.Module`` forward with one or a few ATen ops -- bracketed by two CUDA events, after 3
warm-up calls and a device synchronisation before each trial; inputs ``torch.randn``/``rand``,
fp32 (PyTorch's default: no TF32 for matmuls, so cuBLAS/rocBLAS fp32 GEMM kernels); the
published value is rounded to 3 significant digits, so ``resolution_s`` is that step.

* Up to the v0.1 problem set (e.g. commit 47f78d7, torch 2.5.0): no cache flush, so inputs
  stay warm in L2 where they fit, and the event pair brackets the host's dispatch of the call on
  an idle GPU: ``--timing isolated`` (as NeuSight's tracer).
* From ``src/kernelbench/timing.py`` on (e.g. commit 6e6fca9, torch 2.9.0): each trial first
  writes a 256 MB buffer (``clear_l2_cache``) on the same stream and only then records the
  start event, so the host dispatches the call while the GPU is still busy with the flush:
  the interval is the kernels' own time from a cold L2, a stream-like timing
  (``--timing stream``).

Devices (``hardware`` -> preset): ``NVIDIA A100-SXM4-80GB`` -> ``a100-sxm-80gb``; ``NVIDIA H100
80GB HBM3`` (the SXM part) -> ``h100-sxm``; ``AMD Instinct MI250X/MI250`` (torch sees one
GCD: gfx90a, 104 CUs, 64 GB HBM2e at 1.6 TB/s, the MI210's CDNA2 twin) -> ``mi210``. Others
(A100-SXM4-40GB, H100 PCIe, L40S, A10G, L4, T4, B200) have no preset and are refused.

Problems that map onto a kernel hetsim prices (every tensor fp32, ``elem_bytes=4``): see
:data:`MAPPED`; every other level-1 problem is listed by :func:`convert` with the reason it
does not map (:func:`unmapped_reason`), never silently dropped.

Convert (a checkout of the commit the timing file was written at)::

    git -C KernelBench checkout 47f78d7
    python -m calibration.kernelbench --csv kb.csv --timing isolated \\
        KernelBench/results/timing/A100-80GB_modal/baseline_time_torch.json KernelBench/KernelBench/level1 \\
        --source https://github.com/ScalingIntelligence/KernelBench/blob/47f78d7.../results/timing/...
"""

from __future__ import annotations

import ast
import csv
import json
import math
import sys
from pathlib import Path

from hetsim.report.validation import format_shape

#: ``hardware`` string of a timing file -> hetsim device preset
DEVICES = {"NVIDIA A100-SXM4-80GB": "a100-sxm-80gb", "NVIDIA H100 80GB HBM3": "h100-sxm",
           "AMD Instinct MI250X/MI250": "mi210"}
HEADER = ["device", "kernel", "shape", "time_s", "power_w", "group", "label", "stack", "dtype",
          "resolution_s", "timing", "measured_on", "source"]

#: single-kernel unary elementwise problems (one ATen op on one fp32 tensor)
UNARY = ("ReLU", "LeakyReLU", "Sigmoid", "Tanh", "GELU_", "SELU_", "HardSigmoid", "Softplus",
         "ELU", "HardTanh", "Matrix_scalar_multiplication")
#: plain 2-D GEMMs ``torch.matmul(A, B)`` with A [M, K], B [K, N] (transposes given apart)
GEMM2D = ("Square_matrix_multiplication_", "Standard_matrix_multiplication_",
          "Matmul_with_large_K_dimension_", "Matmul_with_small_K_dimension_",
          "Matmul_with_irregular_shapes_", "Matmul_for_symmetric_matrices",
          "Tall_skinny_matrix_multiplication_", "Matmul_with_transposed_A",
          "Matmul_with_transposed_B", "Matmul_with_transposed_both")
MAPPED = GEMM2D + UNARY + ("Matrix_vector_multiplication_", "Batched_matrix_multiplication",
                           "3D_tensor_matrix_multiplication", "4D_tensor_matrix_multiplication",
                           "Softmax", "LogSoftmax", "LayerNorm")

#: why a level-1 problem does not map, by words in its name (first match wins)
REASONS = (
    (("conv",), "convolution: hetsim has no convolution kernel"),
    (("Pooling",), "pooling window: hetsim has no pooling kernel"),
    (("BatchNorm", "InstanceNorm", "GroupNorm"), "batch/instance/group norm: no hetsim kernel "
     "(statistics over other axes than LayerNorm's)"),
    (("RMSNorm", "FrobeniusNorm", "L1Norm", "L2Norm"), "several eager kernels (a reduction, then "
     "an elementwise normalisation); hetsim prices one kernel per row"),
    (("Argmax", "Argmin"), "argmax/argmin is an ATen reduction kernel, not torch.topk's "
     "radix select: hetsim's topk would price the wrong kernel"),
    (("reduction_over",), "sum/mean/max/min/prod over one axis of a 3-D tensor: hetsim has no "
     "plain reduction kernel (its reduction class is key scoring)"),
    (("cumsum", "cumprod"), "scan: no hetsim kernel"),
    (("Loss",), "a loss: several eager kernels (elementwise, reduction, mean)"),
    (("triangular",), "matmul then triu/tril: two kernels, the second an elementwise mask"),
    (("diagonal",), "torch.diag(A) @ B builds an N x N matrix, then a GEMM: two kernels"),
    (("Swish", "Softsign", "MinGPTNewGelu"), "several eager elementwise kernels (e.g. x * "
     "sigmoid(x)); hetsim's elementwise row is one kernel"),
    (("ScaledDotProductAttention",), "fp16 SDPA with head_dim 1024: no flash kernel takes it, "
     "so PyTorch runs the unfused math path (materialised scores), not hetsim's dense_attention"),
)


def _eval(node, names: dict) -> int:
    """Integer value of a constant expression of the problem file (numbers, names, + - * //)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
            and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.Name) and node.id in names:
        return names[node.id]
    if isinstance(node, ast.BinOp):
        a, b = _eval(node.left, names), _eval(node.right, names)
        ops = {ast.Add: lambda: a + b, ast.Sub: lambda: a - b, ast.Mult: lambda: a * b,
               ast.FloorDiv: lambda: a // b, ast.Pow: lambda: a ** b}
        if type(node.op) in ops:
            return ops[type(node.op)]()
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_eval(node.operand, names)
    raise ValueError(f"not a constant expression: {ast.unparse(node)}")


def problem_shapes(path: str | Path) -> tuple[dict, list[tuple[int, ...]]]:
    """Module-level numeric constants of a problem file and the shapes of the tensors its
    ``get_inputs`` creates (``torch.randn``/``torch.rand`` calls, in order)."""
    tree = ast.parse(Path(path).read_text())
    names: dict = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name):
            try:
                names[node.targets[0].id] = _eval(node.value, names)
            except ValueError:
                pass
    shapes: list[tuple[int, ...]] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "get_inputs":
            for call in ast.walk(node):
                if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) \
                        and call.func.attr in ("randn", "rand"):
                    shapes.append(tuple(int(_eval(a, names)) for a in call.args))
    return names, shapes


def _name(problem: str) -> tuple[int, str]:
    """(number, name) of a problem file name ``19_ReLU.py``."""
    stem = problem[:-3] if problem.endswith(".py") else problem
    num, _, name = stem.partition("_")
    return int(num), name


def map_problem(problem: str, names: dict, shapes: list) -> tuple[str, dict, str]:
    """hetsim kernel, shape and a note on the mapping of one mapped problem (see MAPPED)."""
    _, name = _name(problem)
    eb = {"elem_bytes": 4}
    if name in GEMM2D:
        (a0, a1), (b0, b1) = shapes[0], shapes[1]
        ta, tb = name in ("Matmul_with_transposed_A", "Matmul_with_transposed_both"), \
            name in ("Matmul_with_transposed_B", "Matmul_with_transposed_both")
        m, k = (a1, a0) if ta else (a0, a1)
        n = b0 if tb else b1
        # layout: B [K,N] is n-contiguous (nn=1); B.T of an [N,K] tensor is k-contiguous, as
        # F.linear's weight (nn=0). A's transpose is a BLAS flag the layout key does not carry.
        return "gemm", {"m": m, "n": n, "k": k, **eb, "nn": 0 if tb else 1}, (
            "torch.matmul, one cuBLAS/rocBLAS fp32 GEMM" + (
                " (transposed operands: a BLAS transpose flag, no copy)" if ta or tb else ""))
    if name == "Matrix_vector_multiplication_":
        (m, k), _ = shapes[0], shapes[1]
        return "gemm", {"m": 1, "n": m, "k": k, **eb, "nn": 0}, ("A[M,K] @ x[K,1]: the matrix streamed once, "
                                                        "priced as a 1-row GEMM (gemv class)")
    if name == "Batched_matrix_multiplication":
        (b, m, k), (_, _, n) = shapes[0], shapes[1]
        return "bmm", {"batch": b, "m": m, "n": n, "k": k, **eb, "nn": 1}, "torch.bmm"
    if name == "3D_tensor_matrix_multiplication":
        (b, m, k), (_, n) = shapes[0], shapes[1]
        return "gemm", {"m": b * m, "n": n, "k": k, **eb, "nn": 1}, "torch.matmul of [N,M,K] by [K,L]: one GEMM over N*M rows"
    if name == "4D_tensor_matrix_multiplication":
        (b, i, j, l), (_, k) = shapes[0], shapes[1]
        return "gemm", {"m": b * i * j, "n": k, "k": l, **eb, "nn": 1}, ("einsum bijl,lk->bijk: one GEMM over "
                                                               "b*i*j rows (no permute needed)")
    if name in UNARY:
        n = math.prod(shapes[0])
        return "elementwise", {"num_elems": n, "inputs": 1, **eb}, "one ATen elementwise kernel, one input"
    if name in ("Softmax", "LogSoftmax"):
        rows, cols = shapes[0]
        return "softmax", {"rows": rows, "cols": cols, **eb}, (
            "softmax over the last dim" if name == "Softmax" else
            "log_softmax over the last dim: the same ATen softmax kernels, log epilogue")
    if name == "LayerNorm":
        x = shapes[0]
        return "layernorm", {"rows": x[0], "cols": math.prod(x[1:]), **eb}, (
            f"nn.LayerNorm(normalized_shape={tuple(x[1:])}): {x[0]} rows of {math.prod(x[1:])}")
    raise ValueError(f"{problem}: not a mapped problem")


def unmapped_reason(problem: str) -> str:
    """Why a level-1 problem is not converted."""
    _, name = _name(problem)
    for words, why in REASONS:
        if any(w.lower() in name.lower() for w in words):
            return why
    return "no hetsim kernel for this problem"


def resolution_ms(value: float) -> float:
    """Step of a value rounded to 3 significant digits (KernelBench's ``f'{x:.3g}'``)."""
    return 10.0 ** (math.floor(math.log10(abs(value))) - 2)


def convert(timing_json: str | Path, problems_dir: str | Path, timing: str, source: str = "",
            level: str = "level1") -> tuple[list[list[str]], list[tuple[str, str]]]:
    """Rows (validate CSV layout) of the mapped problems of one timing file, and the
    (problem, reason) list of those not converted."""
    if timing not in ("isolated", "stream"):
        raise ValueError(f"--timing {timing!r}: allowed isolated, stream")
    data = json.loads(Path(timing_json).read_text())
    if level not in data:
        raise ValueError(f"{timing_json}: no {level!r} entry (keys: {', '.join(sorted(data))})")
    rows, skipped = [], []
    for problem, t in sorted(data[level].items(), key=lambda kv: _name(kv[0])[0]):
        hw = t.get("hardware", "")
        dev = DEVICES.get(hw)
        if dev is None:
            skipped.append((problem, f"GPU {hw!r} has no hetsim preset"))
            continue
        if _name(problem)[1] not in MAPPED:
            skipped.append((problem, unmapped_reason(problem)))
            continue
        path = Path(problems_dir) / problem
        if not path.is_file():
            raise FileNotFoundError(f"{path}: the problem file of {problem} (problems of the "
                                    "commit the timing file was written at?)")
        names, shapes = problem_shapes(path)
        kernel, shape, note = map_problem(problem, names, shapes)
        mean_ms = float(t["mean"])
        measured_on = (f"{hw}, eager PyTorch fp32, KernelBench {level}/{problem}: {note}; mean of "
                       f"{t.get('num_trials', '?')} event-timed calls (std {t.get('std')} ms, min "
                       f"{t.get('min')} ms), {'one call timed alone on an idle GPU, warm L2' if timing == 'isolated' else 'after a 256 MB L2 flush on the same stream, cold L2'}")
        rows.append([dev, kernel, format_shape(shape), repr(mean_ms * 1e-3), "",
                     f"kernelbench-{Path(timing_json).parent.name}", _name(problem)[1],
                     "pytorch-eager", "fp32", repr(resolution_ms(mean_ms) * 1e-3), timing,
                     measured_on, source])
    return rows, skipped


def family(kernel: str, shape: str, measured_s: float) -> str:
    """Kernel family of a row for the report: ``gemv`` for a one-row GEMM, ``gemm`` for the
    other GEMMs and ``bmm``, else the kernel, with `` <0.1ms`` for calls under 100 us (where
    an isolated call's host dispatch dominates)."""
    if kernel in ("gemm", "bmm"):
        return "gemv" if shape.startswith("m=1;") else "gemm"
    return kernel + (" <0.1ms" if measured_s < 100e-6 else "")


def report(validation_csv: str | Path) -> list[dict]:
    """n, median and worst |error| and the signed median per (device, timing file, family)
    of a ``hetsim validate`` per-row CSV of converted KernelBench rows."""
    import numpy as np

    groups: dict[tuple[str, str, str], list[float]] = {}
    with open(validation_csv, newline="") as fh:
        for r in csv.DictReader(fh):
            key = (r["device"], r["group"], family(r["kernel"], r["shape"], float(r["measured_s"])))
            groups.setdefault(key, []).append(float(r["error"]))
    out = []
    for key in sorted(groups):
        e = np.array(groups[key])
        out.append({"device": key[0], "group": key[1], "family": key[2], "n": len(e),
                    "median": float(np.median(np.abs(e))), "worst": float(np.abs(e).max()),
                    "signed_median": float(np.median(e)), "min": float(e.min()), "max": float(e.max())})
    return out


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--report"]:
        if len(argv) != 2 or not Path(argv[1]).is_file():
            print("usage: python -m calibration.kernelbench --report OUT/validation.csv", file=sys.stderr)
            return 2
        print(f"{'device':14} {'timing file':28} {'family':18} {'n':>3} {'median':>7} {'worst':>7} "
              f"{'signed':>7}  range")
        for g in report(argv[1]):
            print(f"{g['device']:14} {g['group']:28} {g['family']:18} {g['n']:3d} {g['median']:7.1%} "
                  f"{g['worst']:7.1%} {g['signed_median']:+7.1%}  {g['min']:+.1%} .. {g['max']:+.1%}")
        return 0
    usage = ("usage: python -m calibration.kernelbench --csv OUT.csv --timing isolated|stream "
             "TIMING.json PROBLEMS_DIR [--source URL] [--append]")
    opts = {"--timing": "", "--source": ""}
    for key in opts:
        if key in argv:
            i = argv.index(key)
            if i + 1 >= len(argv):
                print(usage, file=sys.stderr)
                return 2
            opts[key] = argv[i + 1]
            del argv[i:i + 2]
    append = "--append" in argv
    argv = [a for a in argv if a != "--append"]
    if len(argv) != 4 or argv[0] != "--csv" or not opts["--timing"]:
        print(usage, file=sys.stderr)
        return 2
    out, tj, pdir = argv[1], argv[2], argv[3]
    try:
        rows, skipped = convert(tj, pdir, opts["--timing"], opts["--source"])
    except (OSError, ValueError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    new = not (append and Path(out).is_file())
    with open(out, "w" if new else "a", newline="") as fh:
        w = csv.writer(fh)
        if new:
            w.writerow(HEADER)
        w.writerows(rows)
    print(f"{'wrote' if new else 'appended to'} {out}: {len(rows)} problems on "
          f"{', '.join(sorted({r[0] for r in rows})) or 'no preset GPU'}; not converted: {len(skipped)}")
    for problem, why in skipped:
        print(f"  skipped {problem}: {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
