"""The README's commands are the ones CI runs."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ci_runs_exactly_the_readme_test_command():
    readme = ROOT.joinpath("README.md").read_text()
    ci = ROOT.joinpath(".ci/run").read_text().splitlines()
    command = next(line for line in ci if "pytest -n 2" in line)
    assert command in readme.splitlines()
    assert "ruff check" in command and command.startswith("apt-get update")
