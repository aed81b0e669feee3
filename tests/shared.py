"""Where the shared specification folder is: beside the clone in CI, /work/shared on a workstation."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def shared_dir() -> Path:
    for candidate in (ROOT.parent / "shared", ROOT.parent.parent / "shared", Path("/work/shared")):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the shared folder (graph schema, peer baselines) is not beside the repository")
