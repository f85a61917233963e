"""Sanctions lists, read from the files their publishers give out, and found in stories.

Three formats are read, each from bytes, with nothing fetched:

- the UN Security Council's consolidated list (XML, ``CONSOLIDATED_LIST``), whose 1718
  Committee entries have ``UN_LIST_TYPE`` DPRK;
- the US Treasury's SDN list as XML (``sdnList``);
- the same list as CSV (``sdn.csv``: no header, twelve columns, ``-0-`` for none).

Each entry becomes an :class:`Entry`: its names (the name, its aliases, and the name in
its original script where the list gives one), its programs, and its vessels' IMO numbers.
:class:`Finder` then finds them in a story's text: a name as whole words (a Korean name
also with a particle after it), a vessel's name only near a word for a ship, and an IMO
number only beside the word IMO.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ahocorasick
from defusedxml import ElementTree  # type: ignore[import-untyped]
from defusedxml.common import DefusedXmlException  # type: ignore[import-untyped]

MAX_FILE_BYTES = 256 * 1024 * 1024  # the SDN list's XML is tens of megabytes
MIN_NAME_CHARS = 4  # shorter names and aliases ("KPA") would be found everywhere
UN_LISTS = ("DPRK",)  # the 1718 Committee's part of the consolidated list
_IMO_IN_TEXT = re.compile(
    r"\b(?:IMO|ИМО)(?:\s*(?:number|no\.?|номер|№|번호))?\s*[:#]?\s*([0-9]{7})\b", re.IGNORECASE
)
_IMO_IN_LIST = re.compile(r"\bIMO(?:\s*(?:number|no\.?))?\s*[:#]?\s*([0-9]{7})\b", re.IGNORECASE)
_AKA = re.compile(r"a\.k\.a\.\s*'([^']+)'", re.IGNORECASE)
# A vessel's name is a common word as often as not (Angara is a river and a rocket): it
# counts only with one of these words near it, or by its IMO number.
_SHIP_WORDS = re.compile(
    r"\b(?:ship|ships|vessel|vessels|freighter|tanker|cargo|m ?v|судн\w*|сухогруз\w*|"
    r"корабл\w*|танкер\w*|теплоход\w*)\b|선박|화물선|유조선"
)
SHIP_WINDOW = 80  # characters either side of a vessel's name


class SanctionsFileError(ValueError):
    """Raised for a file that is not a sanctions list wirewatch reads; the message says why."""


@dataclass(frozen=True)
class Entry:
    """One listed person, entity or vessel."""

    key: str  # "un:KPe.001", "sdn:12345": unique across lists
    list: str  # "UN 1718" or "OFAC SDN"
    kind: str  # individual, entity or vessel
    name: str
    aliases: tuple[str, ...] = ()
    programs: tuple[str, ...] = ()
    imo: tuple[str, ...] = ()

    def names(self) -> tuple[str, ...]:
        """Return the name and every alias, each once."""
        return tuple(dict.fromkeys((self.name, *self.aliases)))


def read(data: bytes, programs: Iterable[str] = ()) -> list[Entry]:
    """Return the entries of a list file, whichever of the three formats it is, keeping
    those of *programs* (prefixes such as DPRK or RUSSIA; every entry when empty)."""
    if len(data) > MAX_FILE_BYTES:
        raise SanctionsFileError(f"it is over {MAX_FILE_BYTES // 2**20} MiB")
    start = data.lstrip()[:200].lower()
    if start.startswith(b"<"):
        root = _xml(data)
        tag = root.tag.rsplit("}", 1)[-1]
        if tag == "CONSOLIDATED_LIST":
            entries = list(_un(root))
        elif tag == "sdnList":
            entries = list(_sdn_xml(root))
        else:
            raise SanctionsFileError(
                f"an XML file whose root is <{tag}>: expected the UN consolidated list "
                "(<CONSOLIDATED_LIST>) or the SDN list (<sdnList>)"
            )
    else:
        entries = list(_sdn_csv(data))
    wanted = tuple(program.upper() for program in programs)
    if not wanted:
        return entries
    return [e for e in entries if any(p.upper().startswith(wanted) for p in e.programs)]


def read_file(path: Path, programs: Iterable[str] = ()) -> list[Entry]:
    """Return the entries of the list file at *path*, as :func:`read` does; a file over
    MAX_FILE_BYTES is refused before it is read. Raises OSError for a file that cannot be
    read."""
    if path.stat().st_size > MAX_FILE_BYTES:
        raise SanctionsFileError(f"it is over {MAX_FILE_BYTES // 2**20} MiB")
    return read(path.read_bytes(), programs)


def _xml(data: bytes) -> Any:
    try:
        return ElementTree.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as error:
        raise SanctionsFileError(f"it declares a DTD or entities, refused ({error})") from None
    except ElementTree.ParseError as error:
        raise SanctionsFileError(f"it is not well-formed XML ({error})") from None


def _text(element: Any, *path: str) -> str:
    """Return the stripped text of the child at *path* (tags without namespace), or ''."""
    for tag in path:
        element = next((c for c in element if c.tag.rsplit("}", 1)[-1] == tag), None)
        if element is None:
            return ""
    return " ".join((element.text or "").split())


def _children(element: Any, tag: str) -> Iterator[Any]:
    return (child for child in element if child.tag.rsplit("}", 1)[-1] == tag)


def _un(root: Any) -> Iterator[Entry]:
    for group, kind in (("INDIVIDUALS", "individual"), ("ENTITIES", "entity")):
        for section in _children(root, group):
            for item in section:
                if _text(item, "UN_LIST_TYPE").upper() not in UN_LISTS:
                    continue
                parts = [_text(item, tag) for tag in ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME",
                                                      "FOURTH_NAME")]  # fmt: skip
                name = " ".join(part for part in parts if part)
                reference = _text(item, "REFERENCE_NUMBER") or _text(item, "DATAID")
                if not name or not reference:
                    continue
                aliases = [
                    _text(alias, "ALIAS_NAME")
                    for alias in item
                    if alias.tag.rsplit("}", 1)[-1] in ("INDIVIDUAL_ALIAS", "ENTITY_ALIAS")
                ]
                original = _text(item, "NAME_ORIGINAL_SCRIPT")
                comments = _text(item, "COMMENTS1")
                imo = tuple(dict.fromkeys(_IMO_IN_LIST.findall(comments)))
                yield Entry(
                    key=f"un:{reference}",
                    list="UN 1718",
                    kind="vessel" if imo and kind == "entity" else kind,
                    name=name,
                    aliases=tuple(a for a in (*aliases, original) if a),
                    programs=("DPRK",),
                    imo=imo,
                )


def _sdn_xml(root: Any) -> Iterator[Entry]:
    for item in _children(root, "sdnEntry"):
        uid = _text(item, "uid")
        name = " ".join(p for p in (_text(item, "firstName"), _text(item, "lastName")) if p)
        if not uid or not name:
            continue
        programs = tuple(
            " ".join((p.text or "").split())
            for lists in _children(item, "programList")
            for p in lists
        )
        aliases = tuple(
            " ".join(p for p in (_text(aka, "firstName"), _text(aka, "lastName")) if p)
            for akas in _children(item, "akaList")
            for aka in akas
        )
        imo = tuple(
            match
            for ids in _children(item, "idList")
            for one in ids
            for match in _IMO_IN_LIST.findall(
                f"{_text(one, 'idType')} {_text(one, 'idNumber')}"
                if "imo" in _text(one, "idNumber").lower()
                else f"IMO {_text(one, 'idNumber')}"
                if "vessel registration" in _text(one, "idType").lower()
                else ""
            )
        )
        yield Entry(
            key=f"sdn:{uid}",
            list="OFAC SDN",
            kind=_text(item, "sdnType").lower() or "entity",
            name=name,
            aliases=tuple(a for a in aliases if a),
            programs=tuple(p for p in programs if p),
            imo=tuple(dict.fromkeys(imo)),
        )


def _sdn_csv(data: bytes) -> Iterator[Entry]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not "".join(row).strip():
            continue
        if len(row) < 12 or not row[0].strip().isdigit():
            raise SanctionsFileError(
                f"line {number} is not a row of the SDN list's CSV (twelve columns, "
                "the first a number)"
            )
        cells = [("" if cell.strip() == "-0-" else " ".join(cell.split())) for cell in row]
        uid, name, kind, program = cells[0], cells[1], cells[2], cells[3]
        remarks = cells[11]
        programs = tuple(p.strip(" []") for p in program.split("] [") if p.strip(" []"))
        yield Entry(
            key=f"sdn:{uid}",
            list="OFAC SDN",
            kind=kind.lower() or "entity",
            name=name,
            aliases=tuple(_AKA.findall(remarks)),
            programs=programs,
            imo=tuple(dict.fromkeys(_IMO_IN_LIST.findall(remarks))),
        )


def normal(text: str) -> str:
    """Return *text* as names are compared: case folded, accents kept, punctuation and
    runs of space as one space."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    # str.translate over the text's own non-word characters: a regular expression's
    # substitution took three times as long on an article.
    spaces = {ord(char): " " for char in set(folded) if not (char.isalnum() or char == "_")}
    return " ".join(folded.translate(spaces).split())


def _hangul(char: str) -> bool:
    return "\uac00" <= char <= "\ud7a3"


@dataclass(frozen=True)
class Hit:
    """A listed entry found in a text: its key and the words that matched."""

    key: str
    matched: str


class Finder:
    """Finds the names and IMO numbers of *entries* in texts (one Aho-Corasick pass)."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self._automaton: Any = ahocorasick.Automaton()
        keys: dict[str, set[str]] = {}
        self._imo: dict[str, set[str]] = {}
        self._vessels: set[str] = set()
        for entry in entries:
            if entry.kind == "vessel":
                self._vessels.add(entry.key)
            for name in entry.names():
                pattern = normal(name)
                if len(pattern.replace(" ", "")) >= MIN_NAME_CHARS:
                    keys.setdefault(pattern, set()).add(entry.key)
            for number in entry.imo:
                self._imo.setdefault(number, set()).add(entry.key)
        for pattern, found in keys.items():
            self._automaton.add_word(pattern, (pattern, frozenset(found)))
        self._empty = not keys
        if not self._empty:
            self._automaton.make_automaton()

    def find(self, *texts: str) -> list[Hit]:
        """Return each entry found in *texts*, once, with the first words that matched."""
        hits: dict[str, str] = {}
        for text in texts:
            if not text:
                continue
            spaced = normal(text)
            if not self._empty:
                for end, (pattern, found) in self._automaton.iter(spaced):
                    start = end - len(pattern) + 1
                    before = spaced[start - 1] if start > 0 else " "
                    after = spaced[end + 1] if end + 1 < len(spaced) else " "
                    # Whole words; a Korean name may carry a particle (조선광업개발무역회사는).
                    if before != " " or (after != " " and not _hangul(pattern[-1])):
                        continue
                    near = spaced[max(0, start - SHIP_WINDOW) : end + 1 + SHIP_WINDOW]
                    for key in found:
                        if key in self._vessels and not _SHIP_WORDS.search(near):
                            continue
                        hits.setdefault(key, pattern)
            if "imo" not in spaced and "имо" not in spaced:
                continue  # the search for an IMO number costs more than all the rest
            for number in _IMO_IN_TEXT.findall(text):
                for key in self._imo.get(number, ()):
                    hits.setdefault(key, f"IMO {number}")
        return [Hit(key, matched) for key, matched in sorted(hits.items())]
