"""axe-core in the browser tests: injected from the local copy that ``axe-playwright-python`` ships.

Pages send ``script-src 'self'``, which would block the injected script, so axe runs in a
context opened with ``bypass_csp=True`` (see the ``axe_page`` fixture); other tests keep the CSP.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

# The WCAG 2.0 and 2.1 rules of levels A and AA; "best-practice" rules are not part of the bar.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_script() -> Path:
    """The path of the axe-core bundle installed with the test dependencies."""
    try:
        import axe_playwright_python
    except ImportError:  # pragma: no cover - a missing test dependency
        pytest.fail("axe-core is missing: install the test dependencies with pip install -e '.[test]'", pytrace=False)
    return Path(axe_playwright_python.__file__).parent / "axe.min.js"


def axe_violations(page: Any, *, exclude: list[str] | None = None) -> list[str]:
    """Run axe-core over the page as it is now; one line per violating element."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(axe_script()))
    results = page.evaluate(
        """([tags, exclude]) => axe.run({exclude: exclude.map((s) => [s])},
                                         {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})""",
        [WCAG_TAGS, exclude or []],
    )
    return [
        f"{violation['id']} ({violation['impact']}): {' '.join(node['target'][-1:])}: "
        f"{node.get('failureSummary', '').splitlines()[-1].strip()}"
        for violation in results["violations"]
        for node in violation["nodes"]
    ]


def assert_accessible(page: Any, what: str) -> None:
    """No WCAG 2.1 A or AA violation on the page."""
    found = axe_violations(page)
    assert found == [], f"{what} ({page.url}) has {len(found)} axe violation(s):\n" + "\n".join(found)
