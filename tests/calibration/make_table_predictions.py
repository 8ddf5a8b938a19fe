"""Write the predictions of the shipped tables at a fixed grid of shapes (regression data).

``tests/calibration/test_regimes.py`` checks that tables written before fits could be split
by regime still predict exactly these numbers. Run from a checkout whose code is the
reference (the data file names the commit; ``-P`` so that PYTHONPATH, not the current
directory, supplies ``hetsim``):

    PYTHONPATH=<checkout> python -P tests/calibration/make_table_predictions.py OUT.json COMMIT
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "device_models" / "tables" / "a100-vidur-gemm.json"


def shapes() -> list[dict]:
    """GEMMs inside and outside the table's measured range, one-row and unit-n ones included."""
    ms, ns, ks = (1, 3, 7, 100, 5000, 40000), (1, 4096, 5000, 57344), (4096, 9000)
    return [{"m": m, "n": n, "k": k} for m, n, k in itertools.product(ms, ns, ks)]


def predictions() -> list[dict]:
    from hetsim.costs.tables import read_table

    table = read_table(TABLE)
    out = []
    for s in shapes():
        for cold in (False, True):
            seconds, extrapolated = table.predict("gemm", s, cold=cold)
            out.append({"shape": s, "cold": cold, "seconds": seconds, "extrapolated": extrapolated})
    return out


if __name__ == "__main__":
    out, commit = sys.argv[1], sys.argv[2]
    Path(out).write_text(json.dumps({
        "table": str(TABLE.relative_to(ROOT)), "commit": commit,
        "command": f"PYTHONPATH=<checkout at {commit}> python -P tests/calibration/make_table_predictions.py "
                   f"{out} {commit}", "predictions": predictions()}, indent=1) + "\n")
