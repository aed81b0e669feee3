"""The README's commands are the ones CI runs."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ci_runs_exactly_the_readme_test_command():
    readme = ROOT.joinpath("README.md").read_text()
    ci = ROOT.joinpath(".ci/run").read_text().strip().splitlines()[-1]
    assert ci in readme
    assert "pytest" in ci
