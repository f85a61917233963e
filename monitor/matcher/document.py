"""An article as the matcher sees it: fields folded for matching, and where their paragraphs,
sentences and words begin, worked out only for articles that have hits."""

from __future__ import annotations

import re
from bisect import bisect_right
from functools import cached_property

from monitor.matcher.normalize import fold, nfkc

_PARAGRAPH_BREAK = re.compile(r"\n\s*")
# A semicolon ends a sentence too when the words after it turn to other news ("Russian
# drones hit Kyiv; separately, North Korea tested a missile"), as in a roundup of the day.
_SENTENCE_END = re.compile(
    r"[.!?…。！？]+[\"'”’»)\]]*\s+"
    r"|[;；]\s+(?=(?i:separately|meanwhile|elsewhere|in other news|тем временем|между тем"
    r"|отдельно|кроме того|одновременно|한편|이와 별도로|별도로)\b)"
)
_WORD = re.compile(r"\w+")
# Words after which a full stop does not end a sentence.
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr gen lt col maj capt sgt st no vs jr sr prof gov sen rep u.s u.k u.n".split()  # noqa: SIM905
)


class Field:
    """One field (title or body) of an article: its NFKC text, folded text and boundaries."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.text = text
        self.folded, self.index = fold(text)

    @cached_property
    def paragraph_starts(self) -> list[int]:
        return [0] + [m.end() for m in _PARAGRAPH_BREAK.finditer(self.text)]

    @cached_property
    def sentence_starts(self) -> list[int]:
        return sorted(set(self.paragraph_starts) | set(self._sentence_breaks()))

    @cached_property
    def word_starts(self) -> list[int]:
        return [m.start() for m in _WORD.finditer(self.text)]

    def _sentence_breaks(self) -> list[int]:
        breaks = []
        for match in _SENTENCE_END.finditer(self.text):
            window = self.text[max(0, match.start() - 12) : match.start() + 1]
            before = window.rsplit(None, 1)[-1].rstrip(".").lower()
            if match.group().startswith(".") and (len(before) == 1 or before in _ABBREVIATIONS):
                continue
            breaks.append(match.end())
        return breaks

    def original(self, folded_offset: int) -> int:
        """Return the offset in :attr:`text` of a folded offset."""
        return folded_offset if self.index is None else self.index[folded_offset]

    def paragraph_of(self, offset: int) -> int:
        return bisect_right(self.paragraph_starts, offset) - 1

    def sentence_of(self, offset: int) -> int:
        return bisect_right(self.sentence_starts, offset) - 1

    def word_of(self, offset: int) -> int:
        return max(0, bisect_right(self.word_starts, offset) - 1)

    def sentence_span(self, sentence: int) -> tuple[int, int]:
        """Return the start and end offsets of a sentence, without surrounding space."""
        start = self.sentence_starts[sentence]
        end = (
            self.sentence_starts[sentence + 1]
            if sentence + 1 < len(self.sentence_starts)
            else len(self.text)
        )
        chunk = self.text[start:end]
        return start + (len(chunk) - len(chunk.lstrip())), start + len(chunk.rstrip())


class Document:
    """An article as the matcher sees it: a title field and a body field."""

    def __init__(self, title: str, body: str) -> None:
        self.fields = (Field("title", nfkc(title or "")), Field("body", nfkc(body or "")))

    @property
    def title(self) -> Field:
        return self.fields[0]

    @property
    def body(self) -> Field:
        return self.fields[1]
