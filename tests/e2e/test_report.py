"""`mgc-iac report`: one self-contained HTML page built from state, opened in a real headless Chromium
(Debian's chromium package): its text as the browser's DOM has it, and a screenshot that is a real image."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from mgc_iac.state import open_store

from .helpers import Demo

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is installed by ./dev.sh setup")


def chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium as root, with a fresh profile and nothing that reaches out to the network."""
    profile = tmp / f"chromium-profile-{len(list(tmp.glob('chromium-profile-*')))}"
    profile.mkdir()
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                           "--disable-background-networking", "--disable-component-update", "--disable-sync",
                           f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=120)


class _Text(HTMLParser):
    """The visible text of a page (scripts and styles left out), whitespace collapsed."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:  # noqa: ANN001
        self._skip += tag in ("style", "script")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("style", "script")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)

    def text(self) -> str:
        return re.sub(r"\s+", " ", " ".join(self.parts))


def png_pixels(path: Path) -> tuple[int, int, bytes]:
    """(width, height, raw scanlines) of a PNG, read with zlib: the screenshot is a real, decodable image."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    chunks, pos = [], 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            chunks.append(data[pos + 8:pos + 8 + length])
        pos += 12 + length
    return width, height, zlib.decompress(b"".join(chunks))


def _state(demo: Demo) -> tuple[int, int, int]:
    store = open_store(Path(demo.env["MGC_IAC_STATE"]))
    try:
        return store.serial("demo"), len(store.journal("demo")), len(store.approvals("demo"))
    finally:
        store.close()


def test_the_report_shows_timeline_bytes_verification_approvals_and_failures_in_a_browser(
        demo: Demo, tmp_path: Path) -> None:
    seed = demo.stack / "lab-seed.yaml"  # db-01 has no rsync (and install_rsync is off): its prechecks fail
    text = seed.read_text()
    seed.write_text(text.replace("    rsync: true\n    files: {count: 200", "    rsync: false\n    files: {count: 200"))
    stack = str(demo.stack)
    assert demo.cli("apply", stack, "--auto-approve").returncode == 1  # web-01 waits, db-01 failed
    assert demo.cli("approve", stack, "--all-waiting", "--by", "alice@example.com").returncode == 0
    assert demo.cli("apply", stack, "--auto-approve").returncode == 1  # web-01 at Cutover, db-01 fails again
    before = _state(demo)
    out = tmp_path / "report.html"
    made = demo.cli("report", stack, "--out", str(out))
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == f"Wrote {out}: 2 server(s) in 1 workflow(s), 0 migrated."
    assert _state(demo) == before  # read-only: no serial, journal or approval moved
    html = out.read_text()
    # self-contained: no script, no stylesheet or image fetched from anywhere
    assert not re.search(r"<script|<link|<img|<iframe|\bsrc=|url\(|https?://", html, re.I)

    dom = chromium(tmp_path, "--dump-dom", out.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    parser = _Text()
    parser.feed(dom.stdout)
    page = parser.text()
    assert "Migration report: stack demo" in page
    assert "web-01 → web-01-hw waiting" in page and "db-01 → db-01-hw failed" in page
    # the timeline: each done step with its start, end and duration; web-01 copied bytes at a measured speed
    assert re.search(r"StartMigration done (\d\d:\d\d:\d\d) (\d\d:\d\d:\d\d) \d+ s 1", page)
    assert re.search(r"copied [\d.]+ [kM]B \(full replication\) average speed [\d.]+ [kM]B/s", page)
    assert re.search(r"Verification: clean mgc-iac's own verification \(hash\), computed over SSH on the source "
                     r"and the target Directory Files Different Missing on target Extra on target "
                     r"/srv 150 0 0 0 /data 150 0 0 0", page)  # which verification ran, said so
    assert re.search(r"Approvals Gate Approved by Signature When How Plan digest BusinessValidation "
                     r"alice@example\.com unsigned \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ cli sha256:", page)
    assert "Cutover waiting" in page and "waits for 1 approval(s)" in page
    # db-01: both failed attempts, the last with its error and what to do
    assert re.search(r"Failures CreateTarget ?, attempt 1, at \S+: \(a later attempt ran again\) "
                     r"CreateTarget ?, attempt 2, at \S+: prechecks failed on db-01 \(nothing was created\): rsync",
                     page)
    assert "What to do: follow the advice in the error, then `mgc-iac apply" in page

    shot = tmp_path / "report.png"
    done = chromium(tmp_path, f"--screenshot={shot}", "--window-size=1000,1200", out.as_uri())
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    width, height, raw = png_pixels(shot)
    assert (width, height) == (1000, 1200)
    assert len(set(raw[: width * 4 * 300])) > 20  # the top of the page is drawn, not one flat colour
