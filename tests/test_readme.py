"""The README is the project's contract with new users and CI: its commands and scenarios run.

* The two opening commands install and test; CI runs the second verbatim.
* Every ``hetsim ...`` command in a ``bash`` block runs as written (in-process, from a copy of
  the checkout's ``scenarios/`` so relative paths resolve, outputs in a temporary directory)
  and exits 0. ``calibrate`` and ``validate`` time real kernels for minutes; they are only
  parsed here (tests/test_calibrate_cli.py runs them on small grids).
* Every ``yaml`` block is a file shipped under ``scenarios/examples/`` (same text) that runs.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
import yaml

from hetsim.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
SLOW = ("calibrate", "validate")  # minutes of real kernel timing: parsed, not run here


def _readme_commands() -> list[str]:
    return re.findall(r"```bash\n(.+?)\n```", README, re.S)[:2]


def _hetsim_commands() -> list[str]:
    cmds = []
    for block in re.findall(r"```bash\n(.+?)```", README, re.S):
        for line in block.splitlines():
            for part in line.split("&&"):
                part = part.split("#")[0].strip()
                if part.startswith("hetsim") and part not in cmds:
                    cmds.append(part)
    return cmds


def _yaml_blocks() -> list[str]:
    return re.findall(r"```yaml\n(.+?)```", README, re.S)


def test_readme_opens_with_install_and_test_commands():
    run_cmd, test_cmd = _readme_commands()
    assert "pip install" in run_cmd and "hetsim run" in run_cmd
    assert "pip install" in test_cmd and "pytest" in test_cmd


def test_ci_runs_the_readme_test_command_verbatim():
    _, test_cmd = _readme_commands()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_cmd in ci


def test_readme_shows_commands_and_scenarios():
    cmds = _hetsim_commands()
    for sub in ("run", "compare", "map", "sweep", "devices", "workloads", "calibrate", "validate"):
        assert any(c.split()[1] == sub for c in cmds), sub
    assert _yaml_blocks()


@pytest.fixture
def checkout_copy(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("cmd", _hetsim_commands())
def test_readme_command_runs(cmd, checkout_copy, capsys):
    argv = shlex.split(cmd)[1:]
    if argv[0] in SLOW:
        build_parser().parse_args(argv)  # the flags exist as written
        return
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Traceback" not in captured.err


@pytest.mark.parametrize("i", range(len(_yaml_blocks())))
def test_readme_scenario_is_shipped_and_runs(i, tmp_path, capsys):
    block = _yaml_blocks()[i]
    shipped = {p: p.read_text() for p in (ROOT / "scenarios" / "examples").glob("*.yaml")}
    match = [p for p, text in shipped.items() if text == block]
    assert match, "every yaml block of the README is a file under scenarios/examples/"
    assert yaml.safe_load(block)
    assert main(["run", str(match[0]), "--out", str(tmp_path / "o")]) == 0, capsys.readouterr().err
    assert "writes four files" in README
    for f in ("result.json", "trace.json", "timeline.png", "scenario.resolved.json"):
        assert (tmp_path / "o" / f).stat().st_size > 0, f
