"""The report as a document: a list of blocks rendered twice, to Markdown and to self-contained HTML.

Both renderings come from the same blocks, so the HTML never shows Markdown syntax and the
Markdown never needs an HTML parser. Inline content is a tuple of pieces: plain strings (escaped
for each format), :class:`Strong`, :class:`Code` and :class:`Verdict` (a coloured text badge in
HTML, bold words in Markdown; no emoji, so no font is needed).
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union


@dataclass(frozen=True)
class Strong:
    text: str


@dataclass(frozen=True)
class Code:
    text: str


VERDICT_WORDS = {
    "passed": "reproduced",
    "failed": "not reproduced",
    "not reproduced": "not reproduced (known finding)",
    "xpassed": "reproduced, unexpectedly",
    "skipped": "skipped",
}
"""What a claim test's status says about the claim."""


PIPELINE_WORDS = {
    "passed": "pipeline check passed (not evidence)",
    "failed": "pipeline check failed",
    "skipped": "skipped",
}
"""What the status of a pipeline check (a claim's pipeline on data too small to be evidence) says."""


@dataclass(frozen=True)
class Verdict:
    status: str
    kind: str = "claim"
    """"claim", or "pipeline check": never shown as reproduced or not."""

    @property
    def words(self) -> str:
        words = PIPELINE_WORDS if self.kind == "pipeline check" else VERDICT_WORDS
        return words.get(self.status, self.status)

    @property
    def css_class(self) -> str:
        return "verdict-" + self.status.replace(" ", "-")


Piece = Union[str, Strong, Code, Verdict]
Inline = Union[str, tuple]
"""A plain string, or a tuple of pieces."""


@dataclass(frozen=True)
class Raw:
    """A block already rendered in both formats (built by a module with its own table layout)."""

    markdown: str
    html: str


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    anchor: str = ""


@dataclass(frozen=True)
class Paragraph:
    content: Inline
    warning: bool = False


@dataclass(frozen=True)
class Bullets:
    items: tuple


@dataclass(frozen=True)
class Table:
    header: tuple
    rows: tuple
    """Rows of cells; a cell is inline content. A row whose first cell starts with "↳ " is a sub-row."""


@dataclass(frozen=True)
class Image:
    png: bytes
    name: str
    caption: str


@dataclass
class Document:
    title: str
    blocks: list = field(default_factory=list)

    def add(self, *blocks) -> None:
        self.blocks.extend(blocks)


def _pieces(content: Inline) -> tuple:
    return (content,) if isinstance(content, (str, Strong, Code, Verdict)) else tuple(content)


# --- Markdown -------------------------------------------------------------------------------

def _md_escape(text: str) -> str:
    """Escape what Markdown would read as markup; underscores inside words (``mlp_l1``) stay as they are."""
    text = "".join("\\" + c if c in "\\`*<>|" else c for c in text)
    return re.sub(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", r"\\_", text)


def _md_inline(content: Inline) -> str:
    out = []
    for piece in _pieces(content):
        if isinstance(piece, Strong):
            out.append(f"**{_md_escape(piece.text)}**")
        elif isinstance(piece, Code):
            out.append(f"`{piece.text}`")
        elif isinstance(piece, Verdict):
            out.append(f"**{piece.words}**")
        else:
            out.append(_md_escape(str(piece)))
    return "".join(out)


def to_markdown(document: Document, figure_folder: Path, figure_prefix: str = "figures") -> str:
    """Markdown text of ``document``; its images are written as PNG files into ``figure_folder``."""
    parts = [f"# {_md_escape(document.title)}"]
    for block in document.blocks:
        if isinstance(block, Heading):
            parts.append(f"{'#' * block.level} {_md_escape(block.text)}")
        elif isinstance(block, Paragraph):
            parts.append(("> **Warning:** " if block.warning else "") + _md_inline(block.content))
        elif isinstance(block, Bullets):
            parts.append("\n".join(f"- {_md_inline(item)}" for item in block.items))
        elif isinstance(block, Table):
            lines = ["| " + " | ".join(_md_inline(h) for h in block.header) + " |", "|" + "---|" * len(block.header)]
            lines += ["| " + " | ".join(_md_inline(c) for c in row) + " |" for row in block.rows]
            parts.append("\n".join(lines))
        elif isinstance(block, Raw):
            parts.append(block.markdown)
        elif isinstance(block, Image):
            figure_folder.mkdir(parents=True, exist_ok=True)
            (figure_folder / block.name).write_bytes(block.png)
            parts.append(f"![{_md_escape(block.caption)}]({figure_prefix}/{block.name})\n\n*{_md_escape(block.caption)}*")
    return "\n\n".join(parts) + "\n"


# --- HTML -----------------------------------------------------------------------------------

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1150px;margin:2em auto;padding:0 1em;line-height:1.45;color:#1b1b1b}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:.2em}h3{margin-top:1.5em}
table{border-collapse:collapse;font-size:13px;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 7px;vertical-align:top}
th{background:#f2f2f2;text-align:left}tr.sub td:first-child{padding-left:1.6em}
code{background:#f4f4f4;padding:0 3px;border-radius:3px}
img{max-width:100%}figure{margin:1.2em 0}figcaption{font-size:12px;color:#555}
.verdict{display:inline-block;padding:1px 7px;border-radius:9px;font-size:12px;font-weight:600;white-space:nowrap;color:#fff}
.verdict-passed{background:#1f7a3a}.verdict-failed{background:#b3261e}.verdict-not-reproduced{background:#b3591e}
.verdict-xpassed{background:#7a5d00}.verdict-skipped{background:#6b6b6b}
.warning{background:#fff4e5;border-left:4px solid #e08a00;padding:.5em .8em}
"""


def _html_inline(content: Inline) -> str:
    out = []
    for piece in _pieces(content):
        if isinstance(piece, Strong):
            out.append(f"<strong>{html.escape(piece.text)}</strong>")
        elif isinstance(piece, Code):
            out.append(f"<code>{html.escape(piece.text)}</code>")
        elif isinstance(piece, Verdict):
            out.append(f'<span class="verdict {piece.css_class}">{html.escape(piece.words)}</span>')
        else:
            out.append(html.escape(str(piece)))
    return "".join(out)


def _html_row(row) -> str:
    first = _pieces(row[0])[0] if row else ""
    sub = isinstance(first, str) and first.startswith("↳ ")
    cells = "".join(f"<td>{_html_inline(c)}</td>" for c in row)
    return f'<tr class="sub">{cells}</tr>' if sub else f"<tr>{cells}</tr>"


def to_html(document: Document) -> str:
    """A self-contained HTML page of ``document`` (styles inline, images as data URIs, no scripts)."""
    body = [f"<h1>{html.escape(document.title)}</h1>"]
    for block in document.blocks:
        if isinstance(block, Heading):
            anchor = f' id="{html.escape(block.anchor)}"' if block.anchor else ""
            body.append(f"<h{block.level}{anchor}>{html.escape(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            body.append(f'<p class="warning">{_html_inline(block.content)}</p>' if block.warning else f"<p>{_html_inline(block.content)}</p>")
        elif isinstance(block, Bullets):
            body.append("<ul>" + "".join(f"<li>{_html_inline(item)}</li>" for item in block.items) + "</ul>")
        elif isinstance(block, Table):
            head = "".join(f"<th>{_html_inline(h)}</th>" for h in block.header)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(_html_row(r) for r in block.rows)}</tbody></table>")
        elif isinstance(block, Raw):
            body.append(block.html)
        elif isinstance(block, Image):
            data = base64.b64encode(block.png).decode()
            caption = html.escape(block.caption)
            body.append(f'<figure><img src="data:image/png;base64,{data}" alt="{caption}"><figcaption>{caption}</figcaption></figure>')
    return (f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(document.title)}</title>"
            f"<style>{STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")
