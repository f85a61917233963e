"""How results look to people: the crawl summary and the flagged list, shared by commands."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from rich.text import Text

from monitor.crawl import CycleResult
from monitor.output import console, highlight, print_table
from monitor.topictest import Report


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


def print_status(rows: Sequence[dict[str, Any]], daemon: dict[str, Any]) -> None:
    """Print the daemon's state, then one line per source: its state, last success, next
    run (by the daemon's schedule, else by backoff and server hints) and last error."""
    out = console()
    if daemon["running"]:
        out.print(
            f"Daemon: running, PID {daemon['pid']} on {daemon['host']}, "
            f"since {short_date(daemon['since'])} UTC"
        )
    elif daemon.get("pid"):
        out.print(f"Daemon: not running (PID {daemon['pid']} stopped or gone)")
    else:
        out.print("Daemon: not running (start it with 'wirewatch run')")
    table = []
    for row in rows:
        colour = {"failing": "red", "silent": "yellow"}.get(row["state"], "")
        state = Text(row["state"], style=colour)
        table.append(
            (
                row["name"],
                row["kind"],
                state,
                short_date(row["last_success"]) or "-",
                short_date(row.get("next_run") or row["next_due"]) or "-",
                row["failures"],
                row["articles"],
                Text(row["last_error"] or "", style="red"),
            )
        )
    headers = ["source", "kind", "state", "last success", "next run", "failures", "articles",
               "last error"]  # fmt: skip
    print_table(table, headers, out=out, justify={"failures": "right", "articles": "right"})


def print_topic_report(report: Report, source: str) -> None:
    """Print a topic test: the scores overall and per language, then each mistake."""
    out = console()
    out.print(Text(f"{report.topic} on {source} ({report.overall.stories} stories)", style="bold"))
    rows = [("all", report.overall), *report.by_language.items()]
    table = [
        (name, tally.stories, tally.positives, tally.flagged, f"{tally.precision:.3f}",
         f"{tally.recall:.3f}", f"{tally.f1:.3f}")
        for name, tally in rows
    ]  # fmt: skip
    headers = ["", "stories", "about it", "flagged", "precision", "recall", "F1"]
    right = dict.fromkeys(headers[1:], "right")
    print_table(table, headers, out=out, justify=right)
    for title, mistakes in (
        ("False positives", report.false_positives),
        ("False negatives", report.false_negatives),
    ):
        out.print(f"\n{title} ({len(mistakes)}):")
        for story, result in mistakes:
            line = Text(f"  {story.id}  score {result.score:g}  ")
            line.append(story.title, style="bold")
            out.print(line)
            if result.snippet:
                out.print(Text(f"      {result.snippet}"))


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
            + Text(f"  score {flag['score']:g} (threshold {flag['threshold']:g})")
        )
        named = [name for name in flag["rules"] if name != "rule"]
        out.print(Text(f"  rules: {', '.join(named)}" if named else f"  rule: {flag['rule']}"))
        out.print(Text("  matched: ") + Text(_matched(flag["terms"], record)))
        out.print(Text("  best sentence: ") + _snippet(flag, record))
    if not record["flags"]:
        out.print("\nNot flagged by any topic.")
    out.print()
    paragraphs = highlight(record["body"], spans["body"]).split("\n")
    out.print(Text("\n\n").join(paragraphs))


def _matched(terms: Sequence[dict[str, Any]], record: dict[str, Any]) -> str:
    """Summarise matched terms per entity, e.g. ``russia: Moscow ×2, Putin; dprk: Pyongyang``,
    each as the article spells it."""
    by_entity: dict[str, Counter[str]] = {}
    spellings: dict[str, str] = {}
    for term in terms:
        spelled = (record[term["field"]] or "")[term["start"] : term["end"]] or term["alias"]
        key = spelled.casefold()
        spellings.setdefault(key, spelled)
        by_entity.setdefault(term["entity"], Counter())[key] += 1
    return "; ".join(
        f"{entity}: "
        + ", ".join(
            f"{spellings[key]} ×{n}" if n > 1 else spellings[key] for key, n in counts.most_common()
        )
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
