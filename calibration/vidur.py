"""Measured A100 GEMM times from Vidur's published operator profiles, as a hetsim kernel table.

Vidur (microsoft/vidur @7d47513, MIT) profiled the dense operators of transformer layers on an
NVIDIA A100 for 1 to 32768 tokens; ``shared/reference/data/vidur-a100/`` holds verbatim copies
of its ``mlp.csv`` files (times in ms). Four columns are plain GEMMs whose shapes follow from
the model columns:

* ``attn_pre_proj``  (QKV):      m = tokens, k = n_embd, n = (n_head + 2 n_kv_head) * head_dim
* ``attn_post_proj`` (output):   m = tokens, k = n_head * head_dim, n = n_embd
* ``mlp_up_proj``    (gate+up):  m = tokens, k = n_embd, n = 2 n_expanded_embd (gated MLP)
* ``mlp_down_proj``  (down):     m = tokens, k = n_expanded_embd, n = n_embd

with head_dim = n_embd / n_head and every size divided by the tensor-parallel degree on the
split dimension (only TP = 1 rows are used here). bf16 elements (2 B).

Regenerate the table shipped in ``device_models/tables/``::

    python -m calibration.vidur /path/to/shared/reference/data/vidur-a100 device_models/tables/a100-vidur-gemm.json

Convert profiles (every token count and TP degree) to a ``hetsim validate --against`` CSV::

    python -m calibration.vidur --csv a100-sxm-80gb a100.csv /path/to/vidur-a100/*.mlp.csv
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import sys
from pathlib import Path
from typing import Any

from hetsim.costs.fitted import fit_kernel
from hetsim.costs.tables import FORMAT
from hetsim.report.validation import format_shape

OPS = ("attn_pre_proj", "attn_post_proj", "mlp_up_proj", "mlp_down_proj")
#: token counts kept (the profiles hold ~450 per model; these span 1..32768 evenly in log)
TOKENS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768)


def gemm_shape(op: str, row: dict[str, str], tp: int = 1) -> dict[str, int]:
    """(m, k, n) of one Vidur operator for one CSV row at tensor-parallel degree *tp*: the QKV
    and up projections are split by columns (n / tp), the output and down projections by rows
    (k / tp), as Megatron-style tensor parallelism does."""
    m = int(row["num_tokens"])
    h, nh, nkv = int(row["n_embd"]), int(row["n_head"]), int(row["n_kv_head"])
    inter = int(row["n_expanded_embd"])
    hd = h // nh
    gated = row["use_gated_mlp"].strip().lower() == "true"
    k, n = {
        "attn_pre_proj": (h, (nh + 2 * nkv) * hd),
        "attn_post_proj": (nh * hd, h),
        "mlp_up_proj": (h, (2 if gated else 1) * inter),
        "mlp_down_proj": (inter, h),
    }[op]
    if op in ("attn_pre_proj", "mlp_up_proj"):
        n //= tp
    else:
        k //= tp
    return {"m": m, "k": k, "n": n}


def vidur_points(csv_path: str | Path, tokens=TOKENS) -> list[dict[str, Any]]:
    """Measured GEMM points (median seconds) of one Vidur ``mlp.csv`` at TP = 1."""
    out = []
    with open(csv_path, newline="") as fh:
        for row in csv.DictReader(fh):
            if row["num_tensor_parallel_workers"] != "1" or int(row["num_tokens"]) not in tokens:
                continue
            for op in OPS:
                t = float(row[f"time_stats.{op}.median"]) * 1e-3
                out.append({"shape": gemm_shape(op, row), "median_s": t,
                            "iqr_s": None, "min_s": float(row[f"time_stats.{op}.min"]) * 1e-3,
                            "repeats": None, "power_w": None,
                            "op": op, "model": Path(csv_path).name.removesuffix(".mlp.csv")})
    return out


def vidur_rows(csv_path: str | Path):
    """Every measured GEMM of one Vidur ``mlp.csv``: all token counts, all TP degrees.

    Yields ``(op, tp, shape, median_s)``."""
    with open(csv_path, newline="") as fh:
        for row in csv.DictReader(fh):
            tp = int(row["num_tensor_parallel_workers"])
            for op in OPS:
                yield op, tp, gemm_shape(op, row, tp), float(row[f"time_stats.{op}.median"]) * 1e-3


TIMER_STEP_S = "1e-06"  # Vidur's timer step (see write_validation_csv)


def write_validation_csv(files, out: str | Path, device: str) -> int:
    """Convert Vidur ``mlp.csv`` files into the ``hetsim validate --against`` format (one row
    per operator and row; ``group`` = model, so a leave-one-model-out check is possible).

    ``resolution_s`` is 1 us: Vidur's per-call samples are whole microseconds (every
    ``time_stats.*.min`` of the three shipped A100 files is an integer number of us, every
    median an integer or half-integer, the middle of an even number of samples)."""
    n = 0
    with open(out, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["device", "kernel", "shape", "time_s", "power_w", "group", "label",
                    "resolution_s"])
        for f in files:
            model = Path(f).name.removesuffix(".mlp.csv")
            for op, tp, shape, t in vidur_rows(f):
                w.writerow([device, "gemm", format_shape(shape),
                            repr(t), "", model, f"{op}@tp{tp}", TIMER_STEP_S])
                n += 1
    return n


def vidur_table(data_dir: str | Path) -> dict[str, Any]:
    """A ``hetsim-kernel-table/1`` of A100 GEMM times from every ``*.mlp.csv`` in *data_dir*."""
    pts: list[dict[str, Any]] = []
    files = sorted(Path(data_dir).glob("*.mlp.csv"))
    for f in files:
        pts += vidur_points(f)
    uniq: dict[tuple, dict] = {}
    for p in pts:  # the same GEMM shape can appear for two models; keep the first
        uniq.setdefault(tuple(sorted(p["shape"].items())), p)
    points = list(uniq.values())
    return {
        "format": FORMAT,
        "device": {"name": "a100-vidur", "kind": "gpu"},
        "provenance": {
            "command": "python -m calibration.vidur " + " ".join(sys.argv[1:]),
            "date": _dt.date.today().isoformat(),
            "source": "microsoft/vidur @7d47513 data/profiling/compute/a100/<model>/mlp.csv (MIT), "
                      "medians of Vidur's repeated runs, TP=1; bf16",
            "files": [f.name for f in files],
            "gpu_model": "NVIDIA A100 (80 GB class: 1-token gate/up projection of Llama-3-8B "
                         "streams 235 MB in 0.142 ms = 1.65 TB/s, above the 40 GB parts' 1.555 TB/s peak)",
        },
        "kernels": {"gemm": {"points": points, "fit": fit_kernel(points, "gemm")}},
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--csv":  # --csv DEVICE OUT.csv FILE.mlp.csv...
        if len(argv) < 4:
            print("usage: python -m calibration.vidur --csv DEVICE OUT.csv FILE.mlp.csv...", file=sys.stderr)
            return 2
        n = write_validation_csv(argv[3:], argv[2], argv[1])
        print(f"wrote {argv[2]}: {n} measured GEMMs for device {argv[1]}")
        return 0
    if len(argv) != 2:
        print("usage: python -m calibration.vidur DATA_DIR OUT.json", file=sys.stderr)
        return 2
    table = vidur_table(argv[0])
    Path(argv[1]).parent.mkdir(parents=True, exist_ok=True)
    Path(argv[1]).write_text(json.dumps(table, indent=1, sort_keys=True))
    print(f"wrote {argv[1]}: {len(table['kernels']['gemm']['points'])} points, fit "
          f"{table['kernels']['gemm']['fit']['model']}, held-out error "
          f"{table['kernels']['gemm']['fit'].get('heldout_error')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
