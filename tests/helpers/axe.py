"""Accessibility checks with axe-core (installed from npm by the test command into
tests/browser/js) run inside chromium pages driven by Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
AXE_SCRIPT = Path(__file__).resolve().parents[1] / "browser" / "js" / "node_modules" / \
    "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's chromium, headless, as the browser tests run it."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def axe_violations(page: Page, impacts: tuple[str, ...] = BLOCKING) -> list[dict[str, Any]]:
    """Run axe-core on the page as it is now; return the violations of the given impacts, each
    with its rule id, impact, help text and the selectors of the offending nodes.

    The page's context must be made with `bypass_csp=True`: the pages forbid injected scripts.
    """
    if not AXE_SCRIPT.exists():
        raise RuntimeError(f"axe-core is missing: run `npm ci` in {AXE_SCRIPT.parents[2]}")
    page.add_script_tag(path=str(AXE_SCRIPT))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]]}
            for v in result["violations"] if v["impact"] in impacts]


def assert_accessible(page: Page) -> None:
    """Fail with axe-core's findings when the page has a serious or critical violation."""
    found = axe_violations(page)
    assert not found, f"{page.url}: accessibility violations {found}"
