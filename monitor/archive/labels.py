"""The labels an analyst gives a story, defined once: they feed the CLI's choices, the web
triage links and the CHECK constraint of the marks table."""

from __future__ import annotations

from enum import StrEnum


class Label(StrEnum):
    """What an analyst decides about a story."""

    RELEVANT = "relevant"
    IRRELEVANT = "irrelevant"
    FOLLOW_UP = "follow-up"


# The labels as plain text, in the order people see them (click's choices, the web links).
LABELS: tuple[str, ...] = tuple(label.value for label in Label)


def label_check(column: str = "label") -> str:
    """Return the SQL condition that *column* holds a label (the marks table's CHECK)."""
    quoted = ", ".join(f"'{label}'" for label in LABELS)
    return f"{column} IN ({quoted})"


def labels_in_words() -> str:
    """Return the labels as a phrase for people: ``relevant, irrelevant or follow-up``."""
    return f"{', '.join(LABELS[:-1])} or {LABELS[-1]}"
