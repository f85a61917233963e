"""The story page's versions: what each re-check of a flagged story found, escaped for HTML.

An edit's word-level difference (monitor.rechecking.word_diff) is shown with ``<del>`` and
``<ins>`` built around escaped pieces: the page's words never become markup.
"""

from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup, escape

from monitor.reports import recheck_text

# The removed and added words of a difference: [-words-] and {+words+}.
_MARKED = re.compile(r"\[-(.*?)-\]|\{\+(.*?)\+\}", re.DOTALL)


def diff_html(diff: str) -> Markup:
    """Return a word-level difference as escaped HTML with ``<del>`` and ``<ins>``."""
    pieces, end = [], 0
    for found in _MARKED.finditer(diff):
        pieces.append(escape(diff[end : found.start()]))
        removed, added = found.group(1), found.group(2)
        if removed is not None:
            pieces.append(Markup("<del>%s</del>") % removed)
        else:
            pieces.append(Markup("<ins>%s</ins>") % added)
        end = found.end()
    pieces.append(escape(diff[end:]))
    return Markup("").join(pieces)


def versions(checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the re-checks of a story as the template lists them, oldest first."""
    return [
        {
            "checked": check["checked"],
            "outcome": check["outcome"],
            "said": recheck_text({**check, "diff": None}),
            "diff": diff_html(check["diff"]) if check["text_changed"] and check["diff"] else None,
            "sha256": check["sha256"],
        }
        for check in checks
    ]
