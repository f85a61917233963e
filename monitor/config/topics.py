"""The ``topics:`` part of the config: entities with their aliases, the rules that flag a
story, and how a topic scores it.

Aliases and rules are parsed here with the matcher's own parsers, so a topic that validates
is one the matcher can compile. Every problem in one topic's entities, and every problem in
its rules, is reported at once.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from monitor.config.values import Model, Range, Weight, several, shown
from monitor.matcher.aliases import AliasError, parse_alias
from monitor.matcher.rules import RuleSyntaxError, entity_names, labels, parse_rule

# A score an alert or the digest asks of a flagged story (also above a threshold's range).
MinScore = Annotated[float, AfterValidator(Range(0, 10_000))]

# What the topics of one file may stand for. The repository's config.yaml has 555 spellings.
MAX_SPELLINGS = 100_000


class Scoring(Model):
    """How a topic weighs the evidence: by where a hit is, and by entity."""

    title: Weight = Field(2.0, description="Weight of a hit in the headline.")
    lead: Weight = Field(1.5, description="Weight of a hit in the first paragraph.")
    body: Weight = Field(1.0, description="Weight of a hit elsewhere in the text.")
    entities: dict[str, Weight] = Field(
        default_factory=dict,
        description="Entity -> weight; their hits in the paragraphs of the evidence add to it.",
    )


class Subject(Model):
    """Rules that flag a story only when it is about what they found, not in passing."""

    rules: list[str] = Field(
        description="Named rules that must hold in the headline or the lead, or in several "
        "sentences."
    )
    sentences: Annotated[int, AfterValidator(Range(1, 100))] = Field(
        2, description="Sentences outside the headline and lead that make it the subject."
    )


class Topic(Model):
    """One entry of ``topics:``: named groups of aliases and the rules that flag a story."""

    description: str = ""
    entities: dict[str, dict[str, list[str]]] = Field(
        description="Entity name -> language code (or 'any') -> aliases."
    )
    rule: str | None = Field(None, description="Which entities must occur, and how close.")
    rules: dict[str, str] | None = Field(None, description="Named rules; any one may flag.")
    exclude: str | None = Field(None, description="A rule that, when true, vetoes the flag.")
    enumerations: list[str] = Field(
        default_factory=list,
        description="Entities whose names, three or more in a list, pair with nothing in NEAR.",
    )
    context: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Entity -> entities, one of which must stand in its paragraph for it to count.",
    )
    subject: Subject | None = Field(
        None, description="Rules that must find the story's subject, not a passing clause."
    )
    scoring: Scoring = Field(default_factory=Scoring)  # type: ignore[arg-type]
    threshold: Annotated[float, AfterValidator(Range(0, 10_000, above=True))] = Field(
        1.0, description="Minimum score to flag a story."
    )
    alert_min_score: MinScore | None = Field(
        None, description="Minimum score for an alert; by default the threshold."
    )
    digest_min_score: MinScore | None = Field(
        None, description="Minimum score for the digest; by default the threshold."
    )

    def alert_score(self) -> float:
        """Return the score a flagged story needs to be alerted."""
        return self.threshold if self.alert_min_score is None else self.alert_min_score

    def digest_score(self) -> float:
        """Return the score a flagged story needs to be in the digest."""
        return self.threshold if self.digest_min_score is None else self.digest_min_score

    def named_rules(self) -> dict[str, str]:
        """Return the topic's rules by name (a single ``rule:`` is named "rule")."""
        return dict(self.rules) if self.rules else {"rule": self.rule or ""}

    @field_validator("entities")
    @classmethod
    def _check_entities(
        cls, entities: dict[str, dict[str, list[str]]], info: ValidationInfo
    ) -> Any:
        if not entities:
            raise PydanticCustomError("entities", "a topic needs at least one entity")
        budget = _Budget.of(info)
        problems: list[tuple[str, str]] = []
        for name, by_language in entities.items():
            # The error's location already ends in "entities".
            where = name if len(name) <= 40 else name[:37] + "..."
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", name):
                problems.append(
                    (
                        where,
                        f"{shown(name)} is not a usable entity name (use letters, digits, _, -)",
                    )
                )
            if not by_language:
                problems.append((where, "no aliases (give a list per language, e.g. en: [Moscow])"))
            for language, aliases in by_language.items():
                if not aliases:
                    problems.append(
                        (f"{where}.{language}", "the alias list is empty (list a word)")
                    )
                for index, alias in enumerate(aliases):
                    key = f"{where}.{language}[{index}]"
                    try:
                        forms = parse_alias(str(alias)).forms
                    except AliasError as error:
                        problems.append((key, str(error)))
                        continue
                    budget.spend(len(forms), key, problems)
        if problems:
            raise several(problems)
        return entities

    @model_validator(mode="after")
    def _check_rules(self, info: ValidationInfo) -> Topic:
        if (self.rule is None) == (self.rules is None):
            raise several([("rule", "give one rule, or rules: with named ones (not both)")])
        checks = {
            ("rule" if self.rule is not None else f"rules.{name}"): text
            for name, text in self.named_rules().items()
        }
        if self.exclude is not None:
            checks["exclude"] = self.exclude
        known = ", ".join(sorted(self.entities))
        budget = _Budget.of(info)
        problems: list[tuple[str, str]] = []
        for key, text in checks.items():
            try:
                tree = parse_rule(text)
                names = entity_names(tree)
                # A quoted term is matched like an alias, so it is checked like one.
                terms = [parse_alias(label.name) for label in labels(tree) if label.quoted]
            except RuleSyntaxError as error:
                problems.append((key, str(error)))
                continue
            except AliasError as error:
                problems.append((key, f"the quoted term {error}"))
                continue
            budget.spend(sum(len(term.forms) for term in terms), key, problems)
            problems.extend(
                (key, f"unknown entity {shown(name)} (the entities are: {known})")
                for name in sorted(names - set(self.entities))
            )
        problems.extend(
            ("scoring.entities", f"unknown entity {shown(name)} (the entities are: {known})")
            for name in self.scoring.entities
            if name not in self.entities
        )
        problems.extend(self._structure_problems(known))
        problems.extend(
            (key, f"{minimum:g} is below the threshold ({self.threshold:g}), where nothing is "
                  "flagged: leave it out, or give the threshold or more")
            for key, minimum in (("alert_min_score", self.alert_min_score),
                                 ("digest_min_score", self.digest_min_score))
            if minimum is not None and minimum < self.threshold
        )  # fmt: skip
        if problems:
            raise several(problems)
        return self

    def _structure_problems(self, known: str) -> list[tuple[str, str]]:
        """Return the problems of ``enumerations:``, ``context:`` and ``subject:``."""
        problems = [
            ("enumerations", f"unknown entity {shown(name)} (the entities are: {known})")
            for name in self.enumerations
            if name not in self.entities
        ]
        for name, needs in self.context.items():
            key = f"context.{name}"
            if name not in self.entities:
                problems.append((key, f"unknown entity {shown(name)} (the entities are: {known})"))
            if not needs:
                problems.append((key, "list the entities it needs nearby, e.g. [korea]"))
            problems.extend(
                (key, f"unknown entity {shown(need)} (the entities are: {known})")
                for need in needs
                if need not in self.entities
            )
            if name in needs:
                problems.append((key, f"{shown(name)} cannot be its own context"))
        if self.subject is not None:
            named = self.named_rules()
            problems.extend(
                ("subject.rules", f"unknown rule {shown(rule)} (the rules are: "
                                  f"{', '.join(named)})")
                for rule in self.subject.rules
                if rule not in named
            )  # fmt: skip
        return problems


class _Budget:
    """The spellings that the file's aliases and quoted terms have spent of MAX_SPELLINGS.

    The count lives in the validation context, so it spans every topic of one file; a
    topic validated alone has a budget of its own.
    """

    def __init__(self, counter: dict[str, Any]) -> None:
        self.counter = counter

    @classmethod
    def of(cls, info: ValidationInfo) -> _Budget:
        context = info.context
        if isinstance(context, dict) and isinstance(context.get("spellings"), int):
            return cls(context)
        return cls({"spellings": 0})

    def spend(self, spellings: int, key: str, problems: list[tuple[str, str]]) -> None:
        """Count the *spellings* of the alias at *key*; stop at once past the limit.

        The limit guards against a file that stands for millions of spellings, so the check
        ends here with the problems found so far, rather than read on.
        """
        self.counter["spellings"] += spellings
        if self.counter["spellings"] > MAX_SPELLINGS:
            problems.append(
                (
                    key,
                    f"the topics' aliases and quoted terms stand for more than {MAX_SPELLINGS:,} "
                    "spellings in all (use fewer aliases, or fewer endings in each)",
                )
            )
            raise several(problems)
