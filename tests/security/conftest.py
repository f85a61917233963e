"""The security suite: one test per way a hostile feed, page, config or web site was seen to
get something out of wirewatch (issue 10).

Every test under this folder carries the ``security`` mark, so ``pytest -m security`` (or
``make security``) runs the suite alone; ``make test`` runs it with the rest. Each test plays
the attacker against a real local server, a real archive, or a real browser.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.security)
