"""The Hit: one alias found in one field of an article, with where it stands."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Hit:
    """One occurrence of an alias; offsets are in the field's NFKC text, as archived."""

    label: str  # the entity name, or the quoted term
    alias: str  # the alias as the topic writes it
    field: str  # "title" or "body"
    start: int
    end: int
    paragraph: int
    sentence: int
    word: int  # index of the first word of the hit in its field
    word_end: int  # index of the last word of the hit

    def to_dict(self) -> dict[str, Any]:
        """Return the hit as the JSON object stored with a flag."""
        return {
            "entity": self.label,
            "alias": self.alias,
            "field": self.field,
            "start": self.start,
            "end": self.end,
        }
