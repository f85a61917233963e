"""How results look to people: the crawl summary and the flagged list, shared by commands."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from rich.text import Text

from monitor.crawl import CycleResult
from monitor.output import console, highlight, print_table


def print_cycle(result: CycleResult) -> None:
    """Print one line per source (new, flagged, error), then the run's totals."""
    rows = []
    for outcome in result.outcomes:
        problem = ""
        if outcome.status == "failed":
            problem = f"{outcome.error_class}: {outcome.error}"
        elif outcome.status == "interrupted":
            problem = "interrupted before it finished"
        flagged = Text(str(outcome.flagged), style="bold red" if outcome.flagged else "")
        rows.append((outcome.source, outcome.new, flagged, Text(problem, style="red")))
    out = console()
    print_table(
        rows,
        ["source", "new", "flagged", "error"],
        out=out,
        justify={"new": "right", "flagged": "right"},
    )
    out.print(
        f"Run {result.run_id}: {result.new} new articles, {result.flagged} flagged, "
        f"{result.failed} of {len(result.outcomes)} sources failed ({result.seconds:.1f}s)."
    )


def print_flagged(rows: Sequence[dict[str, Any]], total: int, *, since: str | None = None) -> None:
    """Print flagged stories as a table: ID, date, source, (topic,) score and title."""
    out = console()
    if not rows:
        out.print("No flagged stories" + (f" since {since}." if since else "."))
        return
    several = len({row["topic"] for row in rows}) > 1
    headers = ["id", "date (UTC)", "source", *(["topic"] if several else []), "score", "title"]
    table = [
        (
            row["id"],
            short_date(row["published"] or row["fetched"]),
            row["source"],
            *([row["topic"]] if several else []),
            f"{row['score']:g}",
            row["title"],
        )
        for row in rows
    ]
    print_table(table, headers, out=out, justify={"id": "right", "score": "right"})
    if total > len(rows):
        out.print(f"Showing {len(rows)} of {total}; use --limit 0 for all, or --since.")


def print_status(rows: Sequence[dict[str, Any]]) -> None:
    """Print one line per source: its state, last success, next due time and last error."""
    table = []
    for row in rows:
        state = Text(row["state"], style="red" if row["state"] == "failing" else "")
        table.append(
            (
                row["name"],
                row["kind"],
                state,
                short_date(row["last_success"]) or "-",
                short_date(row["next_due"]) or "-",
                row["failures"],
                row["articles"],
                Text(row["last_error"] or "", style="red"),
            )
        )
    headers = ["source", "kind", "state", "last success", "next due", "failures", "articles",
               "last error"]  # fmt: skip
    print_table(table, headers, justify={"failures": "right", "articles": "right"})


def short_date(text: str | None) -> str:
    """Return a stored UTC time as ``2026-11-27 08:00``."""
    return (text or "").replace("T", " ")[:16]


def print_article(record: dict[str, Any]) -> None:
    """Print one article: headline, where it is from, each flag's evidence, and the text.

    The matched terms are highlighted in the headline, the best sentence and the body.
    """
    out = console()
    spans: dict[str, list[tuple[int, int]]] = {"title": [], "body": []}
    for flag in record["flags"]:
        for term in flag["terms"]:
            spans[term["field"]].append((term["start"], term["end"]))
    out.print(Text(f"#{record['id']}  ", style="bold") + highlight(record["title"], spans["title"]))
    when = short_date(record["published"] or record["fetched"])
    language = record["language"] or "language unknown"
    out.print(f"{record['source']} · {when} UTC · {language}")
    out.print(record["url"], soft_wrap=True)
    if record["extract_error"]:
        out.print(f"note: {record['extract_error']}; the body is the feed summary")
    for flag in record["flags"]:
        out.print()
        out.print(
            Text(flag["topic"], style="bold")
            + Text(
                f"  score {flag['score']:g} (threshold {flag['threshold']:g})  rule: {flag['rule']}"
            )
        )
        out.print(Text("  matched: ") + Text(_matched(flag["terms"])))
        out.print(Text("  best sentence: ") + _snippet(flag, record))
    if not record["flags"]:
        out.print("\nNot flagged by any topic.")
    out.print()
    paragraphs = highlight(record["body"], spans["body"]).split("\n")
    out.print(Text("\n\n").join(paragraphs))


def _matched(terms: Sequence[dict[str, Any]]) -> str:
    """Summarise matched terms per entity, e.g. ``russia: Moscow ×2, Putin; dprk: Pyongyang``."""
    by_entity: dict[str, Counter[str]] = {}
    for term in terms:
        by_entity.setdefault(term["entity"], Counter())[term["alias"]] += 1
    return "; ".join(
        f"{entity}: "
        + ", ".join(f"{alias} ×{n}" if n > 1 else alias for alias, n in counts.most_common())
        for entity, counts in by_entity.items()
    )


def _snippet(flag: dict[str, Any], record: dict[str, Any]) -> Text:
    """Return the flag's best sentence with its hits highlighted."""
    snippet = flag["snippet"] or ""
    for field_name in ("body", "title"):
        start = (record[field_name] or "").find(snippet) if snippet else -1
        if start >= 0:
            inside = [
                (term["start"] - start, term["end"] - start)
                for term in flag["terms"]
                if term["field"] == field_name and start <= term["start"] < start + len(snippet)
            ]
            return highlight(snippet, inside)
    return Text(snippet)
