"""The consultant's commentary: Markdown rendered to a small, safe subset of HTML.

markdown-it-py with raw HTML turned off, so ``<script>`` prints as text. Images are never loaded
(their alt text is shown instead) and links keep their address visible; only https links stay
clickable. Headings are shifted down so that commentary cannot start a report chapter.
"""
from __future__ import annotations

import html
import re

from markdown_it import MarkdownIt
from markupsafe import Markup, escape

MAX_CHARS = 20_000
# report chapters are h1/h2; commentary headings sit below them
_HEADINGS = {"h1": "h3", "h2": "h4", "h3": "h5", "h4": "h6", "h5": "h6", "h6": "h6"}
_HTTPS = re.compile(r"https://[^\s\"'<>\\]+")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
# Markdown decodes character references itself (&#x202E; becomes U+202E), so they are decoded here
# first and those naming a control or bidi character are dropped before rendering.
_ENTITY = re.compile(r"&(?:#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,7}|[A-Za-z][A-Za-z0-9]{1,31});")


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table").enable("strikethrough")
    rules = md.renderer.rules

    def image(tokens, idx, options, env):
        alt = "".join(t.content for t in tokens[idx].children or [])
        return f'<span class="muted">[image not shown{": " + str(escape(alt)) if alt else ""}]</span>'

    def link_open(tokens, idx, options, env):
        href = tokens[idx].attrGet("href") or ""
        text = tokens[idx + 1].content if idx + 1 < len(tokens) else ""
        env.setdefault("links", []).append((href, text not in (href, href.removeprefix("mailto:"))))
        return f'<a href="{escape(href)}">' if _HTTPS.fullmatch(href) else "<span>"

    def link_close(tokens, idx, options, env):
        href, show = env["links"].pop() if env.get("links") else ("", False)
        shown = f' <span class="muted">({escape(href)})</span>' if show else ""
        return ("</a>" if _HTTPS.fullmatch(href) else "</span>") + shown

    def heading(tag_side):
        def render(tokens, idx, options, env):
            tag = _HEADINGS.get(tokens[idx].tag, "h6")
            return f"<{tag}>" if tag_side == "open" else f"</{tag}>\n"
        return render

    rules["image"] = image
    rules["link_open"] = link_open
    rules["link_close"] = link_close
    rules["heading_open"] = heading("open")
    rules["heading_close"] = heading("close")
    return md


_MD = _parser()


def render_markdown(text: str | None) -> Markup | None:
    """Commentary as HTML that is safe to place in the report; None for no commentary."""
    if not text or not text.strip():
        return None
    text = _CONTROL.sub("", _ENTITY.sub(_entity, text))
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS] + "\n\n*[commentary shortened]*"
    # markdown-it escapes all text and attribute values itself; with html off no tag passes through
    # and once more on the output: whatever Markdown decoded, no control reaches the report
    return Markup(_CONTROL.sub("", _MD.render(text, {})))


def _entity(m: re.Match) -> str:
    decoded = html.unescape(m.group(0))
    return "" if _CONTROL.search(decoded) or "\x00" in decoded else m.group(0)
