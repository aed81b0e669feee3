"""What the workflow adds to one client's report, and where its inputs come from.

A fresh run reads the consultant's files named in the configuration (commentary, the client's
returned action plan) and last period's plan from the output tree. Everything read is stored in the
client folder as ``workflow.json`` (covered by the manifest), so that ``render`` and ``finalize``
re-render the same report from the folder alone.
"""
from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reportgen.checks.rootcause import RootCause
from reportgen.readback import MAX_JSON, ReadBackError, read_bytes, read_json
from reportgen.results import Adjustment, Results, Review
from reportgen.steps import first_step
from reportgen.workflow.actions import Action, Answer, build_plan, carried_answers, plan_answers
from reportgen.workflow.responses import read_responses

WORKFLOW_FILE = "workflow.json"
MAX_COMMENTARY_BYTES = 1024 * 1024   # commentary is cut at 20,000 characters anyway
CLIENT_LOGO = "client-logo"          # stored as branding/client-logo.<ext>
PERIOD_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass
class WorkflowInputs:
    """The consultant's and the client's inputs to one report, as read at run time."""
    commentary: str | None = None
    returned: dict[str, Answer] = field(default_factory=dict)    # from the client's returned sheet
    problems: list[str] = field(default_factory=list)            # found reading it
    previous: dict[str, Answer] = field(default_factory=dict)    # answers in last period's plan
    previous_period: str | None = None
    client_logo: str | None = None                               # relative to the client folder

    def to_json(self) -> dict[str, Any]:
        return {"commentary": self.commentary,
                "returned": {k: a.to_json() for k, a in sorted(self.returned.items())},
                "problems": self.problems,
                "previous": {k: a.to_json() for k, a in sorted(self.previous.items())},
                "previous_period": self.previous_period, "client_logo": self.client_logo}

    @classmethod
    def from_json(cls, doc: Any) -> WorkflowInputs:
        if not isinstance(doc, dict):
            return cls()

        def answers(key: str) -> dict[str, Answer]:
            items = doc.get(key) if isinstance(doc.get(key), dict) else {}
            return {k: a for k, v in items.items() if isinstance(k, str) and (a := Answer.from_json(v))}
        text = lambda k: doc[k] if isinstance(doc.get(k), str) else None  # noqa: E731
        logo = text("client_logo")
        return cls(commentary=text("commentary"), returned=answers("returned"),
                   problems=[p for p in doc.get("problems") or [] if isinstance(p, str)][:100],
                   previous=answers("previous"), previous_period=text("previous_period"),
                   client_logo=logo if logo and re.fullmatch(rf"branding/{CLIENT_LOGO}\.[a-z]+", logo) else None)


@dataclass
class WorkflowData:
    """What the renderers show of the workflow."""
    review: Review
    commentary: str | None                  # Markdown, rendered safely by the PDF renderer
    actions: list[Action]
    client_logo: Path | None
    prepared_by: str
    distribution: list[str]
    answers_from: str | None                # where the carried answers come from, in words


def gather(client: Any, out_root: Path, period: str) -> WorkflowInputs:
    """A fresh run's inputs: the files the configuration names and last period's action plan."""
    inp = WorkflowInputs()
    if client.action_plan is not None:
        inp.returned, inp.problems = read_responses(Path(client.action_plan))
    if client.commentary is not None:
        try:
            raw = read_bytes(Path(client.commentary), MAX_COMMENTARY_BYTES, f"commentary {Path(client.commentary).name}")
            inp.commentary = raw.decode("utf-8", errors="replace")
        except ReadBackError as e:   # checked at configuration time; changed since: the report goes out without it
            inp.problems.append(f"{e}; the report has no commentary")
    inp.previous_period, inp.previous = _previous_plan(Path(out_root), client.slug, period)
    return inp


def load(folder: Path) -> WorkflowInputs:
    """The inputs a stored client folder was rendered with."""
    path = Path(folder) / WORKFLOW_FILE
    if not os.path.lexists(path):
        return WorkflowInputs()
    try:
        return WorkflowInputs.from_json(read_json(path, MAX_JSON, WORKFLOW_FILE))
    except ReadBackError as e:
        return WorkflowInputs(problems=[f"{e}; the stored commentary and answers are not used"])


def store_logo(logo: Path | None, folder: Path) -> str | None:
    """Copy the client's logo into the folder; its path there, relative."""
    if logo is None or not Path(logo).is_file():
        return None
    dest = folder / "branding" / f"{CLIENT_LOGO}{Path(logo).suffix.lower()}"
    dest.parent.mkdir(mode=0o700, exist_ok=True)
    shutil.copyfile(logo, dest)
    dest.chmod(0o600)
    return dest.relative_to(folder).as_posix()


def _previous_plan(out_root: Path, slug: str, period: str) -> tuple[str | None, dict[str, Answer]]:
    if not out_root.is_dir():
        return None, {}
    earlier = sorted((d.name for d in out_root.iterdir() if PERIOD_RE.match(d.name) and d.name < period),
                     reverse=True)
    for name in earlier:
        try:
            doc = read_json(out_root / name / slug / "results.json", MAX_JSON)
        except ReadBackError:
            continue
        if isinstance(doc, dict) and isinstance(doc.get("action_plan"), list):
            return name, plan_answers(doc["action_plan"])
    return None, {}


def apply_overrides(results: Results, overrides: list[Any]) -> None:
    """Mark each overridden check with the consultant's adjustment (its own severity is kept)."""
    for o in overrides:
        check = results.check(o.check)
        if check is not None:
            check.adjustment = Adjustment(severity=o.severity, note=o.note, by=o.by)


def prepare(results: Results, causes: list[RootCause], meta: dict, client: Any, inputs: WorkflowInputs,
            history: list[dict[str, Any]], review: Review, firm_name: str, logo: Path | None) -> WorkflowData:
    """Apply the consultant's overrides, build the action plan and set the review state on ``results``."""
    apply_overrides(results, list(client.overrides))
    carried = carried_answers(inputs.previous, inputs.returned)
    remediation = {cid: first_step(m.remediation) for cid, m in meta.items()}
    actions = build_plan(results, causes, remediation, carried, history)
    open_keys = {a.key for a in actions}
    for key in sorted(set(inputs.returned) - open_keys):
        note = (f"returned action plan: finding key {key} is not open this period (resolved, or mistyped): "
                "its answer is not carried")
        if note not in inputs.problems:
            inputs.problems.append(note)
    results.review = review
    results.action_plan = [a.to_json() for a in actions]
    sources = []
    if inputs.returned:
        sources.append("the action plan the client returned")
    if inputs.previous:
        sources.append(f"the {inputs.previous_period} report")
    name = results.client.name or results.client.slug
    distribution = list(client.distribution) or [f"{name}: senior management and board of directors",
                                                 f"{name}: examiners, on request",
                                                 f"{firm_name}: engagement file"]
    return WorkflowData(review=review, commentary=inputs.commentary, actions=actions, client_logo=logo,
                        prepared_by=client.prepared_by or firm_name, distribution=distribution,
                        answers_from=" and ".join(sources) or None)
