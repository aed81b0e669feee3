"""The report's view model: what every output shows, computed once per client (see ``model``)."""
from __future__ import annotations

from .build import build_view, view_of
from .model import ControlCheck, ControlView, Finding, FrameworkView, Registration, ReportView, SeverityTally, Tallies, Verdict

__all__ = ["build_view", "view_of", "ControlCheck", "ControlView", "Finding", "FrameworkView", "Registration",
           "ReportView", "SeverityTally", "Tallies", "Verdict"]
