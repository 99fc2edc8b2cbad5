"""Accessibility and layout checks of a page, at the two sizes every fan page must work at.

axe-core comes with ``axe-playwright-python`` (its bundled ``axe.min.js``: no network). Every rule of
WCAG 2.0, 2.1 and 2.2 A/AA plus axe's best practices runs, and any violation, of any impact, fails.
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
# Screenshots are test artifacts: under test-results/ (ignored by git; CI may keep it).
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS", Path(__file__).resolve().parent.parent / "test-results"))


@cache
def _axe() -> Axe:
    return Axe()


def axe_violations(page: Page) -> list[str]:
    """One line per violation: rule, impact, and the first few offending elements with axe's advice."""
    results = _axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
    lines = []
    for violation in results.response["violations"]:
        nodes = violation["nodes"]
        where = "; ".join(
            f"{node['target']}: {node.get('failureSummary', '').splitlines()[-1:]}" for node in nodes[:3]
        )
        lines.append(f"{violation['id']} ({violation['impact']}, {len(nodes)} nodes): {where}")
    return lines


def sideways_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the viewport (0: it never scrolls sideways)."""
    return page.evaluate(
        "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - window.innerWidth"
    )


def check_page(page: Page, name: str, *, viewport: str) -> list[str]:
    """axe and the sideways check of the page as it is now, at ``viewport``: the problems found.
    A screenshot of what was checked is kept under test-results/pages/."""
    page.set_viewport_size(VIEWPORTS[viewport])
    screenshot(page, "pages", f"{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}-{viewport}")
    problems = [f"{name} @ {viewport}: {line}" for line in axe_violations(page)]
    overflow = sideways_overflow(page)
    if overflow > 0:
        problems.append(f"{name} @ {viewport}: the page is {overflow}px wider than the viewport")
    return problems


def audit(page: Page, name: str, *, reload_for_phone: bool = True) -> list[str]:
    """The page as it is (desktop), then at phone size, reloaded so that it starts as a phone sees it
    (pages choose some things at load: the seat map's zoom). Returns every problem found."""
    page.wait_for_load_state("load")
    problems = check_page(page, name, viewport="desktop")
    page.set_viewport_size(PHONE)
    if reload_for_phone:
        page.reload()
        page.wait_for_load_state("load")
    problems += check_page(page, name, viewport="phone")
    page.set_viewport_size(DESKTOP)
    return problems


def screenshot(page: Page, folder: str, name: str) -> Path:
    path = ARTIFACTS / folder / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))
    return path
