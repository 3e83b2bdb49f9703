"""Text from a stack, a state row, a cloud answer or an error never reaches a terminal or a page raw.

A description, a tag, a lab server's name or an endpoint's error message may hold control characters: ESC
sequences that recolour, move the cursor, erase a line of the plan or set the window title (OSC), BEL, a
carriage return that overwrites what a reviewer reads, or Unicode bidi overrides that reorder it. Every renderer
shows them escaped and visible (`\\x1b`, `\\u202e`), the way Python's repr does:

- `visible(text)`: keeps newlines and tabs (multi-line text), escapes every other control character;
- `visible_line(text)`: also escapes newlines, tabs and line separators (a field shown on one line);
- `visible_data(obj)`: the same over every string of a JSON-like value;
- `json_visible(text)`: a JSON document whose strings' controls (C1, DEL, bidi; json.dumps already escapes
  C0) are written as JSON's own `\\uXXXX` escapes, so the document still parses to the same data;
- `VisibleStream`: the CLI's last net around stdout/stderr (mgc_iac.cli._errors.run): only the colour codes
  and, on a terminal, the cursor codes mgc-iac itself writes pass; anything else is escaped.
"""

from __future__ import annotations

import re
from typing import Any, TextIO

# C0 except tab and newline, DEL, C1, the bidi embeddings/overrides/isolates and marks
_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[{_CONTROLS}]")
_CONTROL_LINE = re.compile(f"[{_CONTROLS}\t\n\u2028\u2029]")
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class Painted(str):
    """Text a renderer escaped and then coloured itself: passed through as it is."""


def has_controls(text: str) -> bool:
    """Whether `text` holds a character `visible` would escape (newlines and tabs do not count)."""
    return _CONTROL.search(text) is not None


def visible(text: object) -> str:
    """`text` with every control character but newline and tab shown escaped."""
    return _CONTROL.sub(_escape, str(text))


def visible_line(text: object) -> str:
    """`text` on one line: newlines, tabs and every other control character shown escaped."""
    return _CONTROL_LINE.sub(_escape, str(text))


def visible_data(value: Any) -> Any:
    """Every string in a JSON-like value (dict keys included) shown escaped on one line."""
    if isinstance(value, str):
        return visible_line(value)
    if isinstance(value, dict):
        return {visible_data(k): visible_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [visible_data(v) for v in value]
    return value


def json_visible(document: str) -> str:
    """A JSON document with the controls json.dumps(ensure_ascii=False) leaves raw written as \\uXXXX."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", document)


# what mgc-iac itself writes: colours (click.style, rich) on any stream; cursor and line codes (rich's live
# view, drawn only on a terminal). SGR 8 (concealed text) and every other sequence are escaped.
_SGR = re.compile(r"\x1b\[((?:\d{1,3};?)*)m")
_SGR_ALLOWED = {0, 1, 2, 3, 4, 7, 22, 23, 24, 27, 39, 49, *range(30, 38), *range(40, 48), *range(90, 98),
                *range(100, 108)}
_CURSOR = re.compile(r"\x1b\[(?:\d{0,4}[ABCDEFGHJK]|\?25[lh]|\?2004[lh]|\d{1,4};\d{1,4}H)")


def _colours_only(params: str) -> bool:
    """SGR parameters that only set colours and weights (38/48;5;N and 38/48;2;R;G;B included)."""
    values = [int(p) if p else 0 for p in params.split(";")]
    i = 0
    while i < len(values):
        if values[i] in (38, 48):
            width = {5: 1, 2: 3}.get(values[i + 1] if i + 1 < len(values) else -1)
            if width is None or any(v > 255 for v in values[i + 2:i + 2 + width]):
                return False
            i += 2 + width
            continue
        if values[i] not in _SGR_ALLOWED:
            return False
        i += 1
    return True


class VisibleStream:
    """A text stream that escapes what mgc-iac never writes itself (see the module doc)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._tty = bool(getattr(stream, "isatty", lambda: False)())

    def write(self, text: str) -> int:
        self._stream.write(self.clean(text))
        return len(text)

    def clean(self, text: str) -> str:
        out: list[str] = []
        at = 0
        for match in re.finditer(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\r", text):
            out.append(visible(text[at:match.start()]))
            at = match.end()
            out.append(match.group() if self._allowed(match.group()) else visible(match.group()))
        out.append(visible(text[at:]))
        return "".join(out)

    def _allowed(self, seq: str) -> bool:
        if seq == "\r" or _CURSOR.fullmatch(seq):
            return self._tty
        sgr = _SGR.fullmatch(seq)
        return sgr is not None and _colours_only(sgr.group(1))

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def install_visible_streams() -> None:
    """Wrap sys.stdout and sys.stderr (idempotent): the CLI calls it once at start."""
    import sys

    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, VisibleStream):
            setattr(sys, name, VisibleStream(stream))
