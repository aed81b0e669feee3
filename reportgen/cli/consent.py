"""``reportgen consent-url SLUG``: the page where a client's Global Administrator grants the firm's
app its Graph permissions in their tenant (once; ``check --connect`` then shows what was granted)."""
from __future__ import annotations

from reportgen.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    HelpFormatter,
    add_config_argument,
    choose_clients,
    config_path,
    load_or_report,
)
from reportgen.cli.signin import consent_url, is_placeholder
from reportgen.display import terminal

DESCRIPTION = ("Print the admin-consent URL of each live client named (all live clients when none is named): the "
               "client's Global Administrator opens it once, signs in and accepts the read-only Graph permissions "
               "of the firm's app in their tenant. Nothing is sent or written.")

EPILOG = """\
exit status:
  0  a URL for every client named
  1  a client has no consent URL (not a live client, a managed identity's own token, or a placeholder id)
  2  usage or configuration error"""


def add(sub) -> None:
    p = sub.add_parser("consent-url", help="the admin-consent URL of a live client's tenant",
                       description=DESCRIPTION, epilog=EPILOG, formatter_class=HelpFormatter)
    p.add_argument("slug", nargs="*", metavar="SLUG", help="the client (repeatable; default: every live client)")
    add_config_argument(p)
    p.set_defaults(handler=handle)


def handle(args) -> int:
    cfg = load_or_report(config_path(args.config))
    if cfg is None:
        return EXIT_USAGE
    chosen = [c for c in choose_clients(cfg, args.slug) if args.slug or c.source == "graph"]
    status = EXIT_OK
    for c in chosen:
        url = consent_url(c) if c.source == "graph" else None
        if url is None or is_placeholder(c.tenant_id) or is_placeholder(c.graph.client_id):
            why = ("not a live client" if c.source != "graph" else "a placeholder id from the example: give the "
                   "real tenant_id and client_id" if url else "a managed identity's own token needs no consent: "
                   "assign it the Graph app roles (docs/auth.md)")
            print(terminal(f"{c.slug}: no consent URL: {why}"))
            status = EXIT_FAILED
            continue
        print(terminal(f"{c.slug}: {url}"))
    return status
