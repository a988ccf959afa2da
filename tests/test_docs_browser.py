"""The built documentation, opened in headless Chromium: every page renders its formulas, images and scripts.

Builds the site (``mkdocs build --strict``), serves it on localhost and opens every page. A page fails on raw LaTeX
delimiters in its visible text (a formula not rendered), an image that did not load, a request that failed, or a
console error. Skipped without Chromium (``/usr/bin/chromium``, Debian's ``chromium`` package), Playwright (the
``dev`` extra) or MkDocs; CI installs all three. ``DOCS_SCREENSHOTS=DIR`` also saves a full-page screenshot of each
page there.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Headless, and quiet on a machine without a network: no background, update or sync connections.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip
RAW_LATEX = ("\\(", "\\)", "\\[", "\\]", "\\frac", "\\operatorname")

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is in the dev extra")
pytest.importorskip("mkdocs", reason="MkDocs is in the docs extra")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).is_file(), reason="no Chromium (apt-get install chromium)")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site built into a temporary folder and served on localhost; yields (base URL, page paths)."""
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    build = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)]
    done = subprocess.run(build, cwd=ROOT, capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    handler = functools.partial(QuietHandler, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    pages = sorted(p.relative_to(out).parent.as_posix() for p in out.rglob("index.html") if "assets" not in p.parts)
    try:
        yield f"http://127.0.0.1:{server.server_port}", pages
    finally:
        server.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the site without logging each request."""

    def log_message(self, format, *args):
        pass


def test_every_page_renders_its_formulas_images_and_scripts(site):
    base, pages = site
    assert len(pages) >= 12, pages
    shots = os.environ.get("DOCS_SCREENSHOTS")
    problems: list[str] = []
    formulas = 0
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for path in pages:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            seen: list[str] = []
            page.on("console", lambda msg, seen=seen: seen.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc, seen=seen: seen.append(str(exc)))
            page.on("requestfailed", lambda req, seen=seen: seen.append(f"request failed: {req.url}"))
            response = page.goto(f"{base}/{path}/" if path != "." else f"{base}/", wait_until="load")
            name = path if path != "." else "home"
            if response is None or response.status != 200:
                problems.append(f"{name}: HTTP {response.status if response else 'no response'}")
            text = page.inner_text("article")
            raw = [token for token in RAW_LATEX if token in text]
            if raw:
                at = min(text.find(token) for token in raw)
                problems.append(f"{name}: raw LaTeX {raw} in the page text, e.g. {text[max(0, at - 40) : at + 60]!r}")
            broken = page.eval_on_selector_all(
                "article img", "imgs => imgs.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
            )
            problems += [f"{name}: image not loaded: {src}" for src in broken]
            problems += [f"{name}: console: {message}" for message in seen]
            formulas += page.eval_on_selector_all("article math", "nodes => nodes.length")
            if shots:
                Path(shots).mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(Path(shots) / f"{name.replace('/', '_')}.png"), full_page=True)
            page.close()
        browser.close()
    assert not problems, "\n".join(problems)
    assert formulas > 150, f"only {formulas} rendered formulas on the site"
