"""Bad inputs found by helper bad11's hunt (notes/bad11.md): each case failed before its fix
with a traceback or a silent wrong answer (an infinite error in validate.json); now it is exit
code 2 and one line naming the file (or flag), the field and what is allowed. Same table form
as test_bad_inputs_more.py; nothing is simulated.
"""

from __future__ import annotations

import pytest

from test_bad_inputs_more import VA, _one_line_exit_2

PH = "device,kernel,shape,time_s,power_w\n"
ROW = "mi210,topk,batch=1;num_items=256;k=8,31.6e-6"

# (id, files {name: text or bytes}, argv ({d} = the directory), needles)
CASES = [
    # power_w 0 was accepted: the power error |pred - 0| / 0 came out as Infinity in validate.json
    ("va-power-zero", {"m.csv": PH + ROW + ",0\n"}, VA, ["m.csv: power_w: line 2:", "must be > 0", "empty"]),
]


@pytest.mark.parametrize("name,files,argv,needles", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, monkeypatch, name, files, argv, needles):
    _one_line_exit_2(tmp_path, capsys, monkeypatch, files, argv, needles)
