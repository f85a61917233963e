"""Commands for topics: match, topic-test and rematch."""

from __future__ import annotations

from typing import Any

import click

from monitor.archive.labels import LABELS
from monitor.archive.marks import marked_stories
from monitor.commands.options import (
    State,
    format_option,
    since_of,
    since_option,
    state_of,
    stop_on_sigterm,
    topic_option,
)
from monitor.config import Config
from monitor.errors import TopicTestFailed, UsageError
from monitor.matcher.engine import Matcher
from monitor.matcher.explain import Explainer
from monitor.progress import Progress
from monitor.rematch import rematch as rematch_archive
from monitor.reports import print_topic_report, print_verdict
from monitor.terminal import console, print_json, print_jsonl
from monitor.timeutil import utcnow
from monitor.topictest import (
    LineError,
    Story,
    evaluate_topic,
    read_stories,
    stories_from_marks,
    verdict,
)


def one_topic(config: Config, topic: str | None) -> str:
    """Return the topic to use: the one named, or the config's only one."""
    names = list(config.topics)
    if topic is not None:
        if topic not in config.topics:
            raise UsageError(
                f"unknown topic {topic!r} (topics in {config.path}: {', '.join(names) or 'none'})"
            )
        return topic
    if len(names) == 1:
        return names[0]
    if not names:
        raise UsageError(f"{config.path}: topics: no topics to match (add one under topics:)")
    raise UsageError(
        f"{config.path} has several topics; choose one with --topic ({', '.join(names)})"
    )


@click.command()
@click.argument("source", type=click.File("r", encoding="utf-8"), default="-", metavar="[FILE|-]")
@topic_option
@click.option("--explain", is_flag=True,
              help="Say why: the terms found, and for each rule why it fired or not.")  # fmt: skip
@click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]),
    help="json: a JSON line per story (the default); text: for people (the default with "
    "--explain).",
)  # fmt: skip
@click.pass_context
def match(
    ctx: click.Context, source: Any, topic: str | None, explain: bool, output_format: str | None
) -> None:
    """Match stories from JSON lines against a topic, with no archive involved.

    Each input line is an object with id, title, body and an optional lang. Each output
    line answers one input line: id, flagged, score, threshold, rules, terms (with their
    positions) and snippet. A bad input line is reported on stderr with its line number;
    the others are still answered, and the exit status is then 2.

    --explain says why, to study a near miss: the terms found by entity and spelling with
    their counts, and for each rule that did not fire the part that failed ("needs russia
    and dprk in one sentence: dprk never found"); as text, or with --format json as an
    explain object on each line.

    \b
    Examples:
      wirewatch match stories.jsonl
      echo '{"id": 1, "title": "Lavrov in Pyongyang", "body": "Talks began."}' | wirewatch match
      wirewatch match missed.jsonl --explain
    """
    config = state_of(ctx).config()
    name = one_topic(config, topic)
    matcher = Matcher(config.topics)
    index = matcher.topics.index(name)
    explainer = Explainer(name, config.topics[name]) if explain else None
    as_text = (output_format or ("text" if explain else "json")) == "text"
    bad = 0
    for story in read_stories(source):
        if isinstance(story, LineError):
            bad += 1
            click.echo(f"wirewatch: {source.name}: {story}", err=True)
            continue
        result = matcher.match(story.title, story.body)[index]
        answer = verdict(story, result)
        if explainer is not None:
            answer["explain"] = explainer.explain(story.title, story.body, result)
        if as_text:
            print_verdict(story.title, answer)
        else:
            print_jsonl([answer])
    if bad:
        raise UsageError(f"{bad} input line{'s' if bad > 1 else ''} could not be matched")


@click.command("topic-test")
@click.argument("source", type=click.File("r", encoding="utf-8"), required=False, metavar="[FILE]")
@topic_option
@click.option("--from-marks", is_flag=True,
              help="Test on the stories marked in the archive, not on FILE.")  # fmt: skip
@click.option("--set", "subset", metavar="NAME", help='Only lines whose "set" field is NAME.')
@click.option("--fail-under", type=click.FloatRange(0, 1), metavar="F1",
              help="Exit 1 when F1 is below this, for CI.")  # fmt: skip
@format_option("text", "json", default="text")
@click.pass_context
def topic_test(
    ctx: click.Context, source: Any, topic: str | None, from_marks: bool, subset: str | None,
    fail_under: float | None, output_format: str,
) -> None:  # fmt: skip
    """Test a topic on labelled stories: precision, recall and F1, and every mistake.

    Each line of FILE is an object with id, title, body, lang and label: true or relevant
    or follow-up when the story is about the topic, false or irrelevant when it is not, so
    the JSON lines of `wirewatch export` are such a file; lines with no label are counted
    and skipped. Lines with a kind (article, entry) are also scored per kind. --from-marks
    tests on the archive's marked stories instead, each by its latest mark. Run it after
    every topic edit.

    \b
    Examples:
      wirewatch topic-test tests/data/russia_dprk_labelled.jsonl
      wirewatch topic-test labelled.jsonl --set holdout --fail-under 0.9
      wirewatch topic-test --from-marks
    """
    state = state_of(ctx)
    config = state.config()
    name = one_topic(config, topic)
    if from_marks:
        if source is not None:
            raise UsageError("topic-test: give a labelled FILE or --from-marks, not both")
        if subset is not None:
            raise UsageError("topic-test: --set picks lines of a FILE; marks have no sets")
        stories, where = _marked(state), f"the marks in {state.archive_file()}"
    elif source is None:
        raise UsageError(
            "topic-test: give a labelled FILE, or --from-marks to test on the archive's marks"
        )
    else:
        stories, where = _labelled(source, subset), source.name
    report = evaluate_topic(Matcher(config.topics), name, stories)
    if output_format == "json":
        print_json(report.to_dict())
    else:
        print_topic_report(report, where)
    if fail_under is not None and report.overall.f1 < fail_under:
        raise TopicTestFailed(f"F1 {report.overall.f1:.3f} is below --fail-under {fail_under}")


def _labelled(source: Any, subset: str | None) -> list[Story]:
    """Return the stories of a labelled file (of set *subset*), refusing one with no label."""
    stories = []
    for story in read_stories(source, labelled=True):
        if isinstance(story, LineError):
            raise UsageError(f"{source.name}: {story}")
        if subset is None or story.fields.get("set") == subset:
            stories.append(story)
    if not any(story.label is not None for story in stories):
        unlabelled = f" ({len(stories)} without a label)" if stories else ""
        raise UsageError(
            f"{source.name}: no labelled stories"
            + (f" in set {subset!r}" if subset else "")
            + unlabelled
        )
    return stories


def _marked(state: State) -> list[Story]:
    """Return the stories analysts marked, each labelled by its latest mark."""
    with state.archive() as archive:
        stories = list(stories_from_marks(marked_stories(archive)))
    if not stories:
        raise UsageError(
            f"{state.archive_file()}: no marks yet: triage stories with 'wirewatch mark ID "
            f"{'|'.join(LABELS)}' or in 'wirewatch serve', then test on them"
        )
    return stories


@click.command()
@topic_option
@since_option
@format_option("text", "json", default="text")
@click.pass_context
def rematch(ctx: click.Context, topic: str | None, since: str | None, output_format: str) -> None:
    """Re-run the topics over the archive after you changed them.

    Flags are added where a topic now matches, removed where it no longer does, and
    updated where the score or evidence changed; none is ever duplicated.

    \b
    Examples:
      wirewatch rematch
      wirewatch rematch --topic russia-dprk --since 30d
    """
    state = state_of(ctx)
    config = state.config()
    topics = [one_topic(config, topic)] if topic else list(config.topics)
    with state.archive() as archive, stop_on_sigterm(), Progress("Rematching") as progress:
        counts = rematch_archive(
            archive, Matcher(config.topics), topics, since=since_of(since), now=utcnow(),
            progress=progress,
        )  # fmt: skip
    if output_format == "json":
        print_json({topic: dict(count) for topic, count in counts.items()})
        return
    for name, count in counts.items():
        console().print(
            f"{name}: {count['added']} flags added, {count['removed']} removed, "
            f"{count['updated']} updated, {count['kept']} unchanged"
        )
