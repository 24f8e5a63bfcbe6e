"""Student text made harmless wherever an output shows it.

What a student controls (answers, exception messages, printed output, cell labels, their id)
ends up in CSV files, Markdown pages and HTML pages. Each kind of output has one rule here:

- CSV (`spreadsheet_safe`, used by every CSV writer): a string cell that a spreadsheet would
  read as a formula, one starting with `=`, `+`, `-`, `@`, a tab or a carriage return (or a
  line feed), gets a single quote `'` in front, as OWASP recommends against CSV injection.
  Numbers, and strings that are plain numbers such as `-1.5`, stay as they are. Carriage
  returns become line feeds, so that the csv module quotes every line break. `from_spreadsheet`
  undoes the quote when we read our own CSV files back (review sheets, the gradebook for
  `grade export`); it also accepts a cell whose quote a spreadsheet program dropped.
- Markdown (`markdown_text`): one line in which only code spans are active. Line breaks and
  other control characters (bidirectional overrides too) become spaces; outside code spans,
  every ASCII character that means something in Markdown or its common flavours is
  backslash-escaped (`\\ ! # $ & * < > = @ [ ] ^ _ { | } ~`: no emphasis, links, images, HTML,
  entities, math, mentions or tables), and a backtick run without a closing run of the same
  length is escaped as well. What stays unescaped (`. , : ; ( ) ' " / ? % + -`) is inert
  inside a line (a viewer that links bare URLs, as GitHub does, may still show one as a
  link; nothing is loaded). Code spans stay, so the grader's own formatting (`lora_fnn`,
  `answer:1a`) works, but only those without markup characters (`\\ * < > [ ] & # | ~ $ { } ^ @`)
  in them: the others are escaped like the rest, so that even the raw text of the page
  holds no markup from a student (no "**Total" inside a code span either).
- HTML: every page we write carries `csp_meta()`, a Content-Security-Policy that loads
  nothing from anywhere (images only as `data:` URIs, inline styles only, scripts only when
  their hash is listed), besides the escaping of every value with `html.escape`.
- Size (`shorten`): student text shown to a student is capped, with a visible note.
"""

from __future__ import annotations

import base64
import hashlib
import re

# ---------------------------------------------------------------- CSV cells

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _formula(text: str) -> bool:
    return text.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text)


def spreadsheet_safe(value):
    """A CSV cell that no spreadsheet runs as a formula; anything but a string is returned as is.
    Carriage returns become line feeds: the csv module quotes a field with a line feed in it
    (our line terminator) but not one with a bare CR, which readers would take for a new row."""
    if not isinstance(value, str):
        return value
    if _formula(value.lstrip("'")):
        value = "'" + value
    return value.replace("\r\n", "\n").replace("\r", "\n") if "\r" in value else value


def from_spreadsheet(value):
    """The value `spreadsheet_safe` was given (reading our own CSV files back)."""
    if isinstance(value, str) and value.startswith("'") and _formula(value.lstrip("'")):
        return value[1:]
    return value


def safe_frame(frame):
    """A copy of a pandas DataFrame whose string cells are `spreadsheet_safe`."""
    return _each_text_column(frame, spreadsheet_safe)


def restored_frame(frame):
    """The inverse of `safe_frame`, for a frame read from our own CSV."""
    return _each_text_column(frame, from_spreadsheet)


def _each_text_column(frame, function):
    from pandas.api.types import is_numeric_dtype

    frame = frame.copy()
    for name in frame.columns:
        if not is_numeric_dtype(frame[name]):
            frame[name] = frame[name].map(function)
    return frame


# ---------------------------------------------------------------- length

TEXT_LIMIT = 1000  # characters of one student-influenced text shown in feedback


def shorten(text: str, limit: int = TEXT_LIMIT) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]} [... shortened: {len(text):,} characters in all]"


# ---------------------------------------------------------------- Markdown

_ESCAPED = set("\\!#$&*<>=@[]^_{|}~")
_MARKUP = set("\\*<>[]&#|~${}^@")  # a code span holding one of these is not kept as a code span
_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069]+")
_BACKTICKS = re.compile(r"`+")
_SPECIAL = re.compile("[" + re.escape("".join(sorted(_ESCAPED))) + "]")


def markdown_text(text: str, limit: int = TEXT_LIMIT) -> str:
    """`text` as inert inline Markdown on one line (see the module docstring); at most about
    `limit` characters of it."""
    text = _CONTROLS.sub(" ", shorten(str(text), limit))
    out: list[str] = []
    i = 0
    while i < len(text):
        run = _BACKTICKS.search(text, i)
        if run is None:
            out.append(_SPECIAL.sub(r"\\\g<0>", text[i:]))
            break
        out.append(_SPECIAL.sub(r"\\\g<0>", text[i:run.start()]))
        width = len(run.group())
        closing = next((m for m in _BACKTICKS.finditer(text, run.end()) if len(m.group()) == width), None)
        if closing is None:
            out.append("\\`" * width)  # literal backticks; what follows is read as text
            i = run.end()
        elif _MARKUP & set(text[run.end():closing.start()]):  # the whole span as text, both ends literal
            inner = _SPECIAL.sub(r"\\\g<0>", text[run.end():closing.start()])
            out.append("\\`" * width + inner + "\\`" * width)
            i = closing.end()
        else:  # a code span such as `lora_fnn` or `answer:1a`: literal in Markdown, and no markup even as text
            out.append(text[run.start():closing.end()])
            i = closing.end()
    return "".join(out)


# ---------------------------------------------------------------- HTML

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


def csp_meta(*scripts: str) -> str:
    """The Content-Security-Policy meta tag of our pages; `scripts` are the page's own inline
    scripts (exactly as between <script> and </script>), allowed by their hash only."""
    policy = CSP
    if scripts:
        hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
                          for s in scripts)
        policy += f"; script-src {hashes}"
    return f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
