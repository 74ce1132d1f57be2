"""PDFs of the HTML report pages, printed by headless Chromium where it is installed.

Chromium stamps a creation date into each PDF; ``print_pdfs`` overwrites it with a fixed
date of the same length. Pages are printed from a staging folder, so each is printed from a
copy carrying ``<base href>`` of its final place: links inside the PDF then point at the
published pages, and the same pages in the same place give byte-identical PDFs.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
# --disable-pdf-tagging: Chromium numbers the tagged-PDF structure nodes differently from run to
# run (seen: /ID (node00000026) vs (node00000027)), which breaks byte-identical reruns.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--no-pdf-header-footer",
         "--disable-pdf-tagging")
_DATE = re.compile(rb"/(CreationDate|ModDate) ?\(D:[0-9+\-Z']+\)")


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def _normalise(pdf: bytes) -> bytes:
    return _DATE.sub(lambda m: b"/" + m.group(1) + b" (D:20000101000000Z)", pdf)


def print_pdf(chromium: str, html: Path, pdf: Path, *, timeout: float = 120) -> None:
    with tempfile.TemporaryDirectory(prefix="peerlearn-chromium-") as profile:
        subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", f"--print-to-pdf={pdf}",
                        html.resolve().as_uri()], check=True, capture_output=True, timeout=timeout)
    pdf.write_bytes(_normalise(pdf.read_bytes()))


def print_pdfs(folder: Path, pages: list[str], *, final: Path | None = None, chromium: str | None = None,
               workers: int = 2, tick: Callable[[], None] | None = None) -> list[str]:
    """Print ``pages`` (HTML paths relative to ``folder``) to PDFs beside them; return the PDF
    names. ``final`` is where ``folder`` will be published (links in the PDFs point there).
    Needs Chromium: returns [] when none is found."""
    chromium = chromium or find_chromium()
    if not chromium:
        return []
    final = Path(final or folder).resolve()

    def one(name: str) -> str:
        html = folder / name
        pdf = html.with_suffix(".pdf")
        base = (final / name).parent.as_uri() + "/"
        copy = html.with_name(html.stem + ".print.html")
        text = html.read_text(encoding="utf-8")
        copy.write_text(text.replace("<head>", f'<head><base href="{base}">', 1), encoding="utf-8")
        try:
            print_pdf(chromium, copy, pdf)
        finally:
            copy.unlink(missing_ok=True)
        if tick:
            tick()
        return str(Path(name).with_suffix(".pdf"))

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return sorted(pool.map(one, pages))
