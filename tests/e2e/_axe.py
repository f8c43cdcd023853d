"""axe-core (the accessibility engine; bundled by axe-playwright-python) on a live page.

Violations are kept per node and sorted by where the node lives: glmteach's own widgets
and HTML (inside a notebook output) or the page around them (Voila's or JupyterLab's
own chrome, which glmteach does not control). Each audit is added to
``artifacts/axe_summary.json`` (counts by impact and rule), the numbers for the record.
"""

import json
from collections import Counter

from ._ui import ARTIFACTS

SEVERE = ("critical", "serious")
OURS = ".jp-OutputArea-output, .jupyter-widgets, .widget-area"

_OWNER_JS = """
(selectors) => selectors.map(target => {
  let node = null;
  try { node = document.querySelector(target); } catch (error) { return 'page'; }
  return node && node.closest('%s') ? 'glmteach' : 'page';
})
""" % OURS


def audit(page, name, context=None):
    """Run axe on ``page`` (``context``: a CSS selector, default the whole page).

    Returns a list of dicts: rule id, impact, owner ("glmteach" or "page"), html, help.
    """
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, context=context).response
    found = []
    for violation in results["violations"]:
        targets = [str(node["target"][-1]) for node in violation["nodes"]]
        owners = page.evaluate(_OWNER_JS, targets)
        for node, owner in zip(violation["nodes"], owners):
            found.append(dict(rule=violation["id"], impact=violation["impact"],
                              owner=owner, html=node["html"][:200],
                              help=violation["help"]))
    _record(name, found)
    return found


def severe_ours(found):
    return [v for v in found if v["impact"] in SEVERE and v["owner"] == "glmteach"]


def _record(name, found):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "axe_summary.json"
    try:
        summary = json.loads(path.read_text())
    except (OSError, ValueError):
        summary = {}
    summary[name] = {
        "by_impact": dict(Counter(v["impact"] for v in found)),
        "by_rule": dict(Counter(f"{v['impact']} {v['rule']} ({v['owner']})" for v in found)),
    }
    path.write_text(json.dumps(summary, indent=1, sort_keys=True))


def describe(violations):
    return "\n".join(f"{v['impact']} {v['rule']}: {v['help']} -- {v['html']}"
                     for v in violations)
