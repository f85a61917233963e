"""How results look to people: the crawl summary and the flagged list, shared by commands."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from rich.text import Text

from monitor.archive import SourceStatus
from monitor.readout import followed, readout_line
from monitor.rechecking import gone_how
from monitor.terminal import console, highlight, print_table
from monitor.timeutil import in_zone, shown_zone, zone_name

if TYPE_CHECKING:  # records printed here; the reading commands need neither module
    from monitor.archive.rechecks import ChangeRow
    from monitor.collection.result import CycleResult
    from monitor.topictest import Report, Tally


def print_cycle(result: CycleResult) -> None:
    """Print one line per source (new, flagged, error), then the run's totals."""
    rows = []
    for outcome in result.outcomes:
        problem = ""
        if outcome.status == SourceStatus.FAILED:
            problem = f"{outcome.error_class}: {outcome.error}"
        elif outcome.status == SourceStatus.INTERRUPTED:
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
    sent = result.alerts
    if sent is not None and (sent.sent or sent.failed):
        line = f"Alerts: {sent.sent} sent"
        if sent.failed:
            line += f", {sent.failed} failed (tried again after the next crawl; see the log)"
        out.print(line + ".", style="red" if sent.failed else None)


def print_flagged(rows: Sequence[dict[str, Any]], total: int, *, since: str | None = None) -> None:
    """Print flagged stories as a table: ID, date, source, outlets, (topic,) score, (label,)
    and title; one row per story."""
    out = console()
    if not rows:
        out.print("No flagged stories" + (f" since {since}." if since else "."))
        return
    several = len({row["topic"] for row in rows}) > 1
    labelled = any(row.get("label") for row in rows)
    headers = ["id", f"date ({zone_name()})", "source", "outlets", *(["topic"] if several else []),
               "score", *(["mark"] if labelled else []), "title"]  # fmt: skip
    table = [
        (
            row["id"],
            short_date(row["published"] or row["fetched"]),
            row["source"],
            row.get("outlets", 1),
            *([row["topic"]] if several else []),
            f"{row['score']:g}",
            *(
                [Text(row.get("label") or "", style=_MARK_STYLE.get(row.get("label") or "", ""))]
                if labelled
                else []
            ),
            row["title"],
        )
        for row in rows
    ]
    right = {"id": "right", "score": "right", "outlets": "right"}
    print_table(table, headers, out=out, justify=right)
    if total > len(rows):
        out.print(f"Showing {len(rows)} of {total}; use --limit 0 for all, or --since.")


def print_status(
    rows: Sequence[dict[str, Any]],
    daemon: dict[str, Any],
    alerts: dict[str, Any] | None = None,
    health: Sequence[dict[str, str]] = (),
) -> None:
    """Print the daemon's state, then one line per source: its state, last success, next
    run (by the daemon's schedule, else by backoff and server hints) and last error; then
    the alerts, and each health alert whose failure lasts."""
    out = console()
    if daemon["running"]:
        out.print(
            f"Daemon: running, PID {daemon['pid']} on {daemon['host']}, "
            f"since {short_date(daemon['since'])} {zone_name()}"
        )
    elif daemon.get("pid"):
        out.print(f"Daemon: not running (PID {daemon['pid']} stopped or gone)")
    else:
        out.print("Daemon: not running (start it with 'wirewatch run')")
    table = []
    interrupted: dict[str, list[str]] = {}
    for row in rows:
        if row["state"] == "interrupted":
            interrupted.setdefault(short_date(row["last_attempt"]), []).append(row["name"])
        state = Text(row["state"], style=_STATE_STYLE.get(row["state"], ""))
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
    headers = ["source", "kind", "state", f"last success ({zone_name()})",
               f"next run ({zone_name()})", "failures", "articles",
               "last error"]  # fmt: skip
    print_table(table, headers, out=out, justify={"failures": "right", "articles": "right"})
    for started, names in interrupted.items():
        out.print(
            f"Interrupted: the crawl started {started} stopped before it was done with "
            f"{', '.join(names)}; what it read is kept, and each is due again at once.",
            soft_wrap=True,
        )
    if alerts is not None:
        line = (
            f"Alerts: {alerts['sent']} sent, {alerts['pending']} waiting, "
            f"{alerts['failed']} failing"
        )
        failure = alerts["last_failure"]
        if failure:
            line += (
                f"; last failure: {failure['topic']} to {failure['target']} "
                f"({failure['attempts']} attempts): {failure['error']}"
            )
        out.print(line, style="red" if alerts["failed"] else None, soft_wrap=True)
    for alarm in health or ():
        out.print(
            f"Health: {alarm['alert']} (failing since {short_date(alarm['since'])} "
            f"{zone_name()}; alerted once, until it reads again)",
            style="red",
            soft_wrap=True,
        )


def print_topic_report(report: Report, source: str) -> None:
    """Print a topic test: the scores overall and per language, per kind when the stories
    have one, then each mistake."""
    out = console()
    out.print(Text(f"{report.topic} on {source} ({report.overall.stories} stories)", style="bold"))
    if report.unlabelled:
        out.print(f"{report.unlabelled} more without a label were skipped.")
    headers = ["", "stories", "about it", "flagged", "precision", "recall", "F1"]
    right = dict.fromkeys(headers[1:], "right")
    print_table(_tally_rows([("all", report.overall), *report.by_language.items()]), headers,
                out=out, justify=right)  # fmt: skip
    if report.by_kind:
        out.print()
        print_table(_tally_rows(report.by_kind.items()), ["kind", *headers[1:]], out=out,
                    justify=right)  # fmt: skip
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


def _tally_rows(tallies: Iterable[tuple[str, Tally]]) -> list[tuple[Any, ...]]:
    """Return a row of the topic test's table for each named tally."""
    return [
        (name, tally.stories, tally.positives, tally.flagged, f"{tally.precision:.3f}",
         f"{tally.recall:.3f}", f"{tally.f1:.3f}")
        for name, tally in tallies
    ]  # fmt: skip


def print_verdict(title: str, answer: dict[str, Any]) -> None:
    """Print match's verdict on one story, and its explanation when it has one: the terms
    found by entity, each rule and why it did not fire, the exclusion and the outcome."""
    out = console()
    out.print(Text(f"{answer['id']}  ", style="bold") + Text(title))
    state = "flagged" if answer["flagged"] else "not flagged"
    out.print(f"  {state}, score {answer['score']:g} (threshold {answer['threshold']:g})")
    explained = answer.get("explain")
    if explained is None:
        return
    out.print(Text("  found: ") + Text(_found(explained["terms"]) or "none of its terms"))
    for rule in explained["rules"]:
        name = "rule" if rule["name"] == "rule" else f"rule {rule['name']}"
        why = Text("fired", style="green") if rule["fired"] else Text(rule["why"])
        out.print(Text(f"  {name} ({' '.join(rule['rule'].split())}): ") + why)
    exclusion = explained["exclude"]
    if exclusion is not None:
        vetoed = "did not fire"
        if exclusion["fired"]:
            vetoed = "fired" + (f" on {_found(exclusion['terms'])}" if exclusion["terms"] else "")
        out.print(Text(f"  exclude ({' '.join(exclusion['rule'].split())}): {vetoed}"))
    for note in explained["notes"]:
        out.print(Text(f"  note: {note}"))
    out.print(Text(f"  = {explained['verdict']}", style="bold"))
    if answer["snippet"]:
        out.print(Text(f"  best sentence: {answer['snippet']}"))


def _found(terms: Sequence[dict[str, Any]]) -> str:
    """Return terms found as ``russia (3): Moscow ×2, Putin; dprk (1): Pyongyang``."""
    return "; ".join(
        f"{term['entity']} ({term['count']}): "
        + ", ".join(f"{alias} ×{n}" if n > 1 else alias for alias, n in term["aliases"].items())
        for term in terms
    )


_STATE_STYLE = {"failing": "red", "silent": "yellow", "interrupted": "yellow"}
_MARK_STYLE = {"relevant": "green", "irrelevant": "dim", "follow-up": "yellow"}


def print_search(rows: Sequence[dict[str, Any]], total: int, *, cut: bool = False) -> None:
    """Print search results, one row per story: ID, date, source, outlets, language, mark,
    title and the matching words. *total* is how many articles match; *cut* says the rows
    stopped at the limit."""
    out = console()
    if not rows:
        out.print("Nothing matches.")
        return
    table = [
        (
            row["id"],
            short_date(row["published"] or row["fetched"]),
            row["source"],
            row.get("outlets", 1),
            row["language"] or "",
            Text(row.get("label") or "", style=_MARK_STYLE.get(row.get("label") or "", "")),
            Text(row["title"], style="bold") + Text("\n" + row["snippet"], style="dim"),
        )
        for row in rows
    ]
    date = f"date ({zone_name()})"
    headers = ["id", date, "source", "outlets", "lang", "mark", "title and match"]
    print_table(table, headers, out=out, justify={"id": "right", "outlets": "right"})
    if cut:
        out.print(
            f"Showing the best {len(rows)} stories ({total} articles match); use --limit 0 "
            "for all, or narrow the query."
        )


def short_date(text: str | None) -> str:
    """Return a stored UTC time as ``2026-11-27 08:00``, in the zone times are shown in."""
    return in_zone(text, shown_zone())


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
    out.print(f"{record['source']} · {when} {zone_name()} · {language}")
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
        for note in flag.get("notes", ()):
            out.print(Text(f"  {note}"))
        out.print(Text("  matched: ") + Text(matched_terms(flag["terms"], record)))
        out.print(Text("  best sentence: ") + _snippet(flag, record))
    if not record["flags"]:
        out.print("\nNot flagged by any topic.")
    if record.get("sanctions"):
        out.print()
        out.print(Text("Named on a sanctions list:", style="bold"))
        for entry in record["sanctions"]:
            programs = ", ".join(entry["programs"])
            out.print(Text(f"  {entry['list']}: {entry['name']} ({entry['kind']}; {programs}), "
                           f"as “{entry['matched']}”"))  # fmt: skip
    if record.get("outlets"):
        out.print()
        others = len(record["outlets"])
        out.print(
            Text(f"Also carried by {others} other outlet{'s' if others > 1 else ''}:", style="bold")
        )
        for outlet in record["outlets"]:
            out.print(f"  #{outlet['id']}  {short_date(outlet['date'])}  {outlet['source']}: "
                      f"{outlet['title']}")  # fmt: skip
    if record.get("readout"):
        out.print()
        out.print(Text("Readout: ", style="bold") + Text(readout_text(record["readout"])))
    if record.get("rechecks"):
        out.print()
        out.print(Text("Re-checks:", style="bold"))
        for check in record["rechecks"]:
            out.print(Text(f"  {short_date(check['checked'])}  {recheck_text(check)}"))
    if record.get("marks"):
        out.print()
        out.print(Text("Marks:", style="bold"))
        for entry in record["marks"]:
            note = f" ({entry['note']})" if entry["note"] else ""
            copy = f" on #{entry['article_id']}" if entry["article_id"] != record["id"] else ""
            out.print(f"  {short_date(entry['created'])}  {entry['label']}{note}, "
                      f"by {entry['marked_by']}{copy}")  # fmt: skip
    out.print()
    paragraphs = highlight(record["body"], spans["body"]).split("\n")
    out.print(Text("\n\n").join(paragraphs))


def readout_text(readout: dict[str, Any]) -> str:
    """Return a story's readout as one line, its first time in the zone times are shown in."""
    return readout_line(readout, f"{short_date(readout['first_seen'])} {zone_name()}")


def matched_terms(terms: Sequence[dict[str, Any]], record: dict[str, Any]) -> str:
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
    return highlight(*sentence_spans(flag, record))


def sentence_spans(
    flag: dict[str, Any], record: dict[str, Any]
) -> tuple[str, list[tuple[int, int]]]:
    """Return the flag's best sentence and the spans of its hits within it (show and serve)."""
    snippet = flag["snippet"] or ""
    for field_name in ("body", "title"):
        start = (record[field_name] or "").find(snippet) if snippet else -1
        if start >= 0:
            inside = [
                (term["start"] - start, term["end"] - start)
                for term in flag["terms"]
                if term["field"] == field_name and start <= term["start"] < start + len(snippet)
            ]
            return snippet, inside
    return snippet, []


def recheck_text(check: dict[str, Any]) -> str:
    """Return one re-check of a story as ``show`` lists it: what was found, and how."""
    from monitor.terminal import printable  # the page's words, with no control characters

    return printable(_recheck_said(check))


def _recheck_said(check: dict[str, Any]) -> str:
    if check["outcome"] == "removed":
        return f"removed ({gone_how(check['http_status'], '', check['url'])})"
    if check["outcome"] == "failed":
        return f"not read ({check['error']})"
    if check["outcome"] in ("same", "first"):
        return "unchanged" if check["outcome"] == "same" else "read (its first full text)"
    said = []
    if check["title_changed"]:
        said.append(f"retitled: “{check['previous_title']}” → “{check['title']}”")
    if check["text_changed"]:
        diff = f": {check['diff']}" if check["diff"] else ""
        said.append(f"edited (text hash {(check['content_hash'] or '')[:12]}){diff}")
    return "; ".join(said)


def print_changes(rows: Sequence[ChangeRow]) -> None:
    """Print changes as a table: story, change, when, source, and what changed."""
    table = [
        (row.story, str(row.change), short_date(row.checked), row.source, _what(row))
        for row in rows
    ]
    print_table(table, ["ID", "change", "seen", "source", "what"], justify={"ID": "right"})


def _what(row: ChangeRow) -> str:
    """Return what changed, short: an edit's changed words, the new headline, the answer."""
    if row.change == "retitled":
        return f"now: {row.new_title}"
    if row.change == "edited":
        changed = " ".join(re.findall(r"\[-.*?-\]|\{\+.*?\+\}", row.diff or "", re.DOTALL))
        return changed if len(changed) <= 200 else changed[:199] + "…"
    return gone_how(row.http_status, row.url, row.final_url)


def print_timeline(events: Sequence[dict[str, Any]]) -> None:
    """Print timeline events as a table: ID, first seen, first source and its role, which
    roles followed and when, title."""
    out = console()
    table = [
        (event["story"], short_date(event["first_seen"]), event["first_source"],
         event["first_role"] or "", followed(event), event["title"])
        for event in events
    ]  # fmt: skip
    headers = ["id", f"first seen ({zone_name()})", "first source", "role", "then", "title"]
    print_table(table, headers, out=out, justify={"id": "right"})


def print_cluster(cluster: dict[str, Any]) -> None:
    """Print the cluster's Redis, its queue, and one line per worker with its last beat."""
    out = console()
    if not cluster["reachable"]:
        out.print(f"Cluster: {cluster['error']}; crawls wait until it answers.", style="red",
                  soft_wrap=True)  # fmt: skip
        return
    workers = cluster["workers"]
    out.print(
        f"Cluster: Redis at {cluster['redis']}, {len(workers)} worker(s), "
        f"{cluster['waiting']} job(s) waiting, {cluster['taken']} being crawled",
        soft_wrap=True,
    )
    if not workers:
        out.print("No worker has beaten yet: start one with 'wirewatch worker'.", style="yellow")
        return
    rows = [
        (
            worker["name"],
            Text(f"{worker['age']:g}s ago", style="red" if worker["age"] > 60 else ""),
            ", ".join(worker.get("crawling") or []) or "-",
            worker.get("jobs", 0),
            worker.get("failures", 0),
            Text(str(worker.get("last_error") or ""), style="red"),
        )
        for worker in workers
    ]
    headers = ["worker", "last beat", "crawling", "jobs", "failures", "last error"]
    print_table(rows, headers, out=out, justify={"jobs": "right", "failures": "right"})
