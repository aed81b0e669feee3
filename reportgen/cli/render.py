"""``reportgen render``: evaluate and render again from a client's stored folder, without network."""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from reportgen.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    RUN_STATUSES,
    HelpFormatter,
    UsageError,
    config_vocabulary,
    describe_os_error,
    period_format_problem,
    writable_folder,
)
from reportgen.display import terminal


def add(sub) -> None:
    ren = sub.add_parser("render", help="evaluate and render again from stored evidence, no network",
                         description="Evaluate and render one client again from its stored output folder "
                                     "(evidence, client.json, history.json, branding/), without network. "
                                     "Nothing in the folder is trusted: every path it names must stay inside it.",
                         epilog=RUN_STATUSES, formatter_class=HelpFormatter)
    ren.add_argument("--evidence", required=True, metavar="DIR",
                     help="a client's output folder (or its evidence/ folder)")
    ren.add_argument("--out", metavar="DIR",
                     help="output root; the client lands in OUT/<period>/<slug> (default: in place)")
    ren.set_defaults(handler=handle)


MAX_CLIENT_JSON = 1024 * 1024   # client.json holds one client's settings: a few kilobytes


def _stored_record(folder: Path) -> dict:
    """client.json of a stored folder, through the read-back module (bounded, plain file, shaped)."""
    from reportgen.readback import ReadBackError, stored_record
    if not os.path.lexists(folder / "client.json"):
        raise UsageError(f"{folder} has no client.json: point --evidence at a client's output folder")
    try:
        return stored_record(folder)
    except ReadBackError as e:
        raise UsageError(str(e)) from None


def _stored_firm(folder: Path, record: dict) -> dict:
    """The firm settings of client.json, type-checked, with the logo (if any) as a checked path."""
    from pydantic import ValidationError

    from reportgen.config import FirmSettings
    firm = dict(record["firm"])
    try:
        FirmSettings.model_validate({**firm, "logo": None})
    except ValidationError as e:
        raise UsageError(f"{folder}/client.json is not usable: {_first_error(e, 'firm')}") from None
    from reportgen.readback import ReadBackError, stored_logo
    try:
        stored_logo(folder, firm)
    except ReadBackError as e:
        raise UsageError(str(e)) from None
    return firm


def handle(args) -> int:
    from reportgen.batch import Stop, run_batch, write_batch
    from reportgen.config import Client
    from reportgen.evidence import EvidenceError, copy_plain_folder
    from reportgen.lock import period_lock
    from reportgen.pipeline import Job, skip_reason
    started = time.monotonic()
    folder = Path(args.evidence).resolve()
    if (folder / "collection.json").is_file() and folder.name == "evidence":
        folder = folder.parent
    if not folder.is_dir():
        raise UsageError(f"--evidence {args.evidence} is not a folder")
    record = _stored_record(folder)
    try:
        client = Client.model_validate(record["client"], context=config_vocabulary())
    except ValueError as e:
        raise UsageError(f"{folder}/client.json is not usable: {_first_error(e, 'client')}") from None
    period = record.get("period")
    problem = period_format_problem(period) if isinstance(period, str) else "missing"
    if problem:
        raise UsageError(f"{folder}/client.json: period: {problem}")
    if not (folder / "evidence" / "collection.json").is_file():
        raise UsageError(f"{folder} has no evidence/collection.json")
    firm = _stored_firm(folder, record)
    firm["logo"] = str(folder / firm["logo"]) if firm.get("logo") else None
    if args.out:
        out_root, target = Path(args.out), None
    else:
        out_root, target = folder.parent.parent, folder
    writable_folder(out_root / period if target is None else folder.parent)
    from reportgen.config import Defaults
    try:
        defaults = Defaults.model_validate(record["defaults"]).model_dump()
    except ValueError as e:
        raise UsageError(f"{folder}/client.json is not usable: {_first_error(e, 'defaults')}") from None
    # the stored folder is read before anything is published over it
    job = Job(client=client, firm=firm, defaults=defaults, period=period, out_root=out_root,
              evidence_from=folder, target=target)
    if skip_reason(job) is not None:
        # render has no --force: a final report is replaced only by a new draft from `run --force`
        print(f"not rendered: {job.final_dir} is a final report, which render never replaces. Render a copy with "
              f"--out DIR, or start a new draft with: reportgen run --period {period} --client {client.slug} --force "
              f"(the final report is then kept under .superseded/)", file=sys.stderr)
        return EXIT_FAILED
    # one writer per period folder at a time (a batch on that period would tidy our staging away)
    with Stop().installed() as stop, period_lock(job.final_dir.parent):
        # always evaluate from a plain snapshot: in place, the folder is replaced when the new one is
        # complete; and no link or device in the stored folder (a client logo, say) is ever followed
        snap = Path(tempfile.mkdtemp(prefix="reportgen-render-"))
        try:
            copy_plain_folder(folder, snap / "src")   # no links, devices or fifos: nothing local comes along
        except EvidenceError as e:
            shutil.rmtree(snap, ignore_errors=True)
            print(terminal(f"FAILED  {client.slug}: {e}"), file=sys.stderr)
            return EXIT_FAILED
        job.evidence_from = snap / "src"
        job.firm["logo"] = str(snap / "src" / record["firm"]["logo"]) if record["firm"].get("logo") else None
        try:
            entries = run_batch([job], job.final_dir.parent, workers=1, stop=stop)
        finally:
            shutil.rmtree(snap, ignore_errors=True)
        failed = [e for e in entries if e["status"] != "ok"]
        if target is None:
            try:
                write_batch(job.final_dir.parent, period, entries, started)
            except OSError as e:
                print(f"the period summary (batch.json, portfolio.xlsx) could not be written in {job.final_dir.parent}: "
                      f"{describe_os_error(e)}", file=sys.stderr)
                failed = failed or entries
    if stop.requested:
        print(f"interrupted by {stop.words}: {job.final_dir} was left as it was", file=sys.stderr)
        return stop.exit_status
    print(f"{'FAILED' if failed else 'rendered'}: {job.final_dir}", file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK


def _first_error(e: ValueError, section: str) -> str:
    """The first problem of a pydantic error, as ``section.field: message`` (never the input value)."""
    errors = getattr(e, "errors", None)
    if callable(errors) and errors():
        first = errors()[0]
        return terminal(f"{'.'.join([section, *map(str, first['loc'])])}: {first['msg']}", 300)
    return f"{section}: {type(e).__name__}"
