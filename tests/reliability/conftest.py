"""The reliability suite: faults, hostile servers, full disks and foreign clocks.

Every test under this folder carries the ``reliability`` mark, so ``pytest -m reliability``
(or ``make reliability``) runs the suite alone; ``make test`` runs it with the rest.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.reliability)
