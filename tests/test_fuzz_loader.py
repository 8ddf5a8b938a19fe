"""Fuzzing the input boundary: thousands of valid and mutated scenario documents.

Each document is either accepted (and, on the run path, simulated to a result) or refused
with the documented answer: exit code 2 and one line naming the scenario file. Never a
traceback (any other exception fails the test), never a hang (a document taking more than
:data:`HANG_S` fails). Most documents go through the loader and the pre-run checks (the
fast path: 1,750 in CI), a subset through ``hetsim run`` in-process with small sizes
(250). ``pytest --thorough`` runs five times as many (10,000). The count is printed at
the end of the session (conftest.py).
"""

from __future__ import annotations

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from fuzzkit import BASES, SCALE, TALLY, Clock, documents, dump, texts
from hetsim.cli import main, one_line
from hetsim.errors import HetsimError
from hetsim.loader import load_scenario
from hetsim.simulation import check_scenario

#: a document taking longer than this is a hang, not a slow input (documents take ~ms)
HANG_S = 10.0

LOADER_DOCS = 1300 * SCALE
LOADER_TEXTS = 450 * SCALE
RUN_DOCS = 250 * SCALE

FUZZ = dict(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                   HealthCheck.data_too_large],
            deadline=None, database=None)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def _loader_outcome(path) -> tuple[int, str]:
    """What ``hetsim`` would answer before running: (0, '') or (2, the one error line)."""
    try:
        scenario = load_scenario(path)
        check_scenario(scenario, file=str(path))
    except HetsimError as e:
        return 2, one_line(str(e))
    return 0, ""


def _loader(workdir, data: bytes):
    p = workdir / "s.yaml"
    p.write_bytes(data)
    with Clock() as c:
        code, msg = _loader_outcome(p)
    TALLY.add("loader", code, c.seconds)
    assert c.seconds < HANG_S, f"{c.seconds:.1f} s for {data[:200]!r}"
    if code == 2:
        assert msg.startswith(f"{p}: ") and "\n" not in msg, msg


@settings(max_examples=LOADER_DOCS, **FUZZ)
@given(doc=documents())
def test_loader_fuzz_documents(workdir, doc):
    _loader(workdir, dump(doc).encode("utf-8", errors="surrogatepass"))


@settings(max_examples=LOADER_TEXTS, **FUZZ)
@given(data=texts())
def test_loader_fuzz_texts(workdir, data):
    _loader(workdir, data)


@pytest.fixture(scope="module")
def no_picture():
    """The run path writes result and trace but skips the PNG (it is not input handling)."""
    import hetsim.report.plots as plots

    saved = plots.plot_timeline
    plots.plot_timeline = lambda *a, **k: None
    yield
    plots.plot_timeline = saved


@settings(max_examples=RUN_DOCS, **FUZZ)
@given(doc=documents())
def test_run_fuzz_documents(workdir, no_picture, capsys, doc):
    p = workdir / "r.yaml"
    p.write_bytes(dump(doc).encode("utf-8", errors="surrogatepass"))
    capsys.readouterr()
    with Clock() as c:
        code = main(["run", str(p), "--out", str(workdir / "out")])
    err = capsys.readouterr().err.strip()
    TALLY.add("run", code, c.seconds)
    assert c.seconds < HANG_S, f"{c.seconds:.1f} s for {doc!r}"
    assert code in (0, 2), err
    if code == 2:
        assert len(err.splitlines()) == 1 and err.startswith(f"hetsim: error: {p}: "), err
    else:  # nothing, or one warning line per knob that has no effect here, naming the file
        assert all(line.startswith(f"hetsim: warning: {p}: workload.params.") for line in err.splitlines()), err


@pytest.mark.parametrize("i", range(len(BASES)))
def test_the_unmutated_bases_run(workdir, no_picture, capsys, i):
    p = workdir / f"base{i}.yaml"
    p.write_text(yaml.safe_dump(BASES[i]))
    assert main(["run", str(p), "--out", str(workdir / f"base{i}")]) == 0, capsys.readouterr().err
