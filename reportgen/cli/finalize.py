"""``reportgen finalize DIR --reviewer "NAME, TITLE"``: issue a reviewed draft as the final report.

The folder must verify first (a tampered folder is refused). It is then rendered again from its
own evidence, without network and without the DRAFT mark, with the sign-off block and the next
version; the PDF is signed where ``firm.signing`` is set; the manifest is written last, so the
finalized folder verifies.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from reportgen.cli.common import EXIT_FAILED, EXIT_OK, HelpFormatter, UsageError, config_vocabulary, parse_period
from reportgen.display import terminal
from reportgen.vocab import count

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


DESCRIPTION = ("Issue one client's reviewed draft as its final report. The folder must verify against its manifest "
               "(a changed folder is refused); it is then rendered again from its own evidence, without network, "
               "without the DRAFT marking, with the sign-off block naming the reviewer and the next version number, "
               "and, where firm.signing is set, the PDF is signed (the password is read from the variable "
               "firm.signing.password_env names). The folder is replaced only when the final one is complete, and "
               "it verifies afterwards. A final folder is never replaced by run without --force.")

EPILOG = """\
exit status:
  0  finalized (and signed where firm.signing is set)
  1  the folder does not verify, is already final, or cannot be finalized (the cause is named)
  2  usage error (not a folder, no --reviewer), or the period folder is in use by another command"""


def add(sub) -> None:
    fin = sub.add_parser("finalize", help="mark one client's output folder final after review (and sign it)",
                         description=DESCRIPTION, epilog=EPILOG, formatter_class=HelpFormatter)
    fin.add_argument("dir", metavar="DIR", help="a client's output folder, <out>/<period>/<slug>")
    fin.add_argument("--reviewer", required=True, metavar='"NAME, TITLE"',
                     help="who reviewed the report, as it appears in the sign-off block")
    fin.set_defaults(handler=handle)


def _fail(folder: Path, message: str) -> int:
    print(terminal(f"cannot finalize {folder}: {message}"), file=sys.stderr)
    return EXIT_FAILED


def handle(args) -> int:
    from reportgen.config import Client
    from reportgen.dates import iso_z
    from reportgen.evidence import EvidenceError, copy_plain_folder
    from reportgen.lock import period_lock
    from reportgen.package import verify
    from reportgen.pipeline import ClientError, Job, run_client
    from reportgen.workflow.review import next_review, stored_review

    reviewer = " ".join(_CONTROL.sub(" ", args.reviewer).split())
    if not reviewer or len(reviewer) > 200:
        raise UsageError('--reviewer must name the reviewer, e.g. "Jane Roe, Engagement Partner" '
                         '(at most 200 characters)')
    folder = Path(args.dir).resolve()
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder")
    problems = verify(folder)
    if problems:
        for p in problems:
            print(terminal(f"{folder}/{p}"))
        return _fail(folder, f"it does not verify ({count(len(problems), 'problem')} above); re-run the client instead")
    review = stored_review(folder)
    if review is None:
        return _fail(folder, "it holds no results.json")
    if review.final:
        who = f"reviewed by {review.reviewer}" if review.reviewer else "issued without a separate review"
        return _fail(folder, f"it is already final (version {review.version}, {who}); "
                             "run the client again with --force for a new draft")
    from reportgen.readback import ReadBackError, stored_logo, stored_record
    try:
        record = stored_record(folder)   # bounded, plain file; the logo it names stays inside the folder
        client = Client.model_validate(record["client"], context=config_vocabulary())
        period = parse_period(record["period"])
        firm, defaults = dict(record["firm"]), record["defaults"]
        stored_logo(folder, firm)
    except ReadBackError as e:
        return _fail(folder, f"client.json is not usable ({e})")
    except (ValueError, KeyError, TypeError, UsageError) as e:
        return _fail(folder, f"client.json is not usable ({type(e).__name__}: {terminal(str(e), 200)})")

    now = datetime.now(UTC).replace(microsecond=0)
    signing = firm.get("signing") if isinstance(firm.get("signing"), dict) else None
    signer, why = _signer(signing, now) if signing else (None, None)
    if why:
        return _fail(folder, why)

    held = contextlib.ExitStack()   # one writer per period folder: a batch there would replace this folder
    held.enter_context(period_lock(folder.parent))
    snap = Path(tempfile.mkdtemp(prefix="reportgen-finalize-"))
    try:
        # evaluate from a snapshot: the folder itself is replaced once the final one is complete
        copy_plain_folder(folder, snap / "src")   # no links, devices or fifos: nothing local comes along
        src = snap / "src"
        firm["logo"] = stored_logo(src, firm)   # checked again in the snapshot that is rendered
        final = next_review(review, final=True, issued_on=now.date().isoformat(), by=reviewer,
                            finalized_at=iso_z(now), signed_by=signer.common_name if signer else None)
        job = Job(client=client, firm=firm, defaults=defaults, period=period, out_root=folder.parent.parent,
                  evidence_from=src, target=folder, review=final)
        run_client(job, after_render=_signing_step(signer, firm, signing, reviewer, now) if signer else None,
                   after_manifest=_manifest_step(signer, now) if signer else None)
    except (ClientError, EvidenceError, ReadBackError) as e:
        return _fail(folder, str(e))
    except Exception as e:  # signing or rendering: say what, never a traceback
        return _fail(folder, f"{type(e).__name__}: {str(e)[:300]}")
    finally:
        shutil.rmtree(snap, ignore_errors=True)
        held.close()
    signed = f"; PDF signed by {signer.common_name}" if signer else "; PDF not signed (firm.signing is not set)"
    print(f"final: {folder} (version {final.version}, reviewed by {reviewer}{signed})")
    return EXIT_OK


def _signing_step(signer, firm: dict, signing: dict, reviewer: str, now: datetime):
    from reportgen.package import write_bytes
    from reportgen.render import output
    from reportgen.signing import sign_pdf

    def sign(staging: Path, data) -> None:
        r = data.results
        pdf = staging / output("pdf").filename(r.client.slug, r.period)
        signed = sign_pdf(pdf.read_bytes(), signer, signer_name=firm.get("name") or signer.common_name,
                          reason=f"Final report, reviewed by {reviewer}", location=signing.get("location") or "",
                          contact=firm.get("contact") or "", when=now)
        write_bytes(pdf, signed)
    return sign


def _manifest_step(signer, now: datetime):
    from reportgen.package import MANIFEST, MANIFEST_SIG, write_bytes
    from reportgen.signing import sign_detached

    def sign(staging: Path) -> None:
        # the manifest hashes every file: its signature covers results.json and the workbook too
        write_bytes(staging / MANIFEST_SIG, sign_detached((staging / MANIFEST).read_bytes(), signer, now))
    return sign


def _signer(signing: dict, now: datetime):
    """(the firm's signer, None) or (None, why it cannot sign a final report now)."""
    from reportgen.signcheck import key_problems
    from reportgen.signing import SigningError, load_signer
    env = signing.get("password_env")
    password = os.environ.get(env) if env else None
    if env and password is None:
        return None, f"firm.signing needs the signing password in the environment variable {env}"
    try:
        signer = load_signer(Path(signing["pkcs12"]), password, at=now)
    except SigningError as e:
        return None, str(e)
    unfit = key_problems(signer.certificate, now)
    return (None, "; ".join(unfit)) if unfit else (signer, None)
