"""Benchmark: 100,000 comments in eight languages analysed end to end (issue 12, point 7).

The comments (``bench/data/text_analysis_<n>_v<version>.jsonl``, git-ignored, built once in a
process of its own) come from the product's own demo writer
(``cxpulse.demo.comment_writing.write_comment``: English, Swedish, Dutch and Macedonian
sentences for the demo shop's NPS survey, with the scores that produced them) and from the
team-written ``bench/data/language_samples.tsv`` (all eight languages, one to three lines of
one language joined, given a random score 0-10). To keep the words from being the same few
thousand again and again, a share of the words carry a typo (a letter dropped, doubled or
swapped); some comments carry an e-mail address, a phone number in a national format, or an
order number that must survive redaction. 70% of the comments are scored (their score band
teaches the sentiment models), the rest are not; 80% carry their survey's language as a hint.

Each run is a fresh ``python`` process that reads the comments and then, timing each stage
(wall and CPU seconds):

1. imports (the text stage, scikit-learn, lingua), the theme matcher of the starter
   taxonomy, and lingua's detector with its models (built on first use);
2. redaction (``cxpulse.redaction.redact``);
3. language detection (``text.languages.detect_languages`` on the redacted text, as
   ``text.analysis.prepare`` does), then simplemma's lemma dictionaries and the theme
   matcher's index for each language found (both built on first use);
4. training one sentiment model per language on the scored comments (``train_models``);
5. the analysis (``text.analysis.analyse``: clauses, lemmas, theme matching, sentiment of the
   comments and of each theme mention; ``--breakdown`` splits it);
6. discovery: content lemmas of each comment, then ``discover_themes`` over the words the
   taxonomy does not cover, as ``cxpulse themes`` does;
7. the themes table (``text.theme_table``: shares and impacts, discovery off: done above).

Its peak memory is ``ru_maxrss`` from ``os.wait4``. The baseline, in the same session, is a
process that reads the same comments and only lowercases and tokenises them
(``re.findall(r"\\w+", text.lower())``): the floor of any per-comment Python pass. Runs
alternate (full, baseline); the tables give medians. Targets: at most 30 s and 1.5 GB.

    .venv/bin/python bench/text_analysis.py --runs 3
    .venv/bin/python bench/text_analysis.py --runs 1 --breakdown
    .venv/bin/python bench/text_analysis.py --runs 0 --profile /tmp/text.prof   # where time goes
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "bench" / "data"
GENERATOR_VERSION = 2
TARGET_SECONDS = 30.0
TARGET_MB = 1500.0
SCORED_SHARE = 0.7
HINTED_SHARE = 0.8
DEMO_SHARE = 0.55
TYPO_RATE = 0.04
EMAIL_SHARE = 0.02
PHONE_SHARE = 0.02
ORDER_NUMBER_SHARE = 0.02
PHONE_REGIONS = {
    "en": ("GB", "US"),
    "sv": ("SE",),
    "nl": ("NL",),
    "mk": ("MK",),
    "de": ("DE",),
    "fr": ("FR",),
    "es": ("ES",),
    "pt": ("PT", "BR"),
}
ORDER_WORDS = {
    "en": "order",
    "sv": "order",
    "nl": "bestelling",
    "mk": "нарачка",
    "de": "Bestellung",
    "fr": "commande",
    "es": "pedido",
    "pt": "pedido",
}


# --------------------------------------------------------------------------- the comments


def data_path(count: int) -> Path:
    return DATA / f"text_analysis_{count}_v{GENERATOR_VERSION}.jsonl"


def generate(count: int, path: Path, seed: int = 7) -> None:
    """Write ``count`` comments as JSON lines ``{"text", "score", "hint", "language"}``."""
    import phonenumbers

    from cxpulse.demo.comment_texts import LANGUAGES as DEMO_LANGUAGES
    from cxpulse.demo.comment_writing import write_comment
    from cxpulse.demo.survey_plans import NPS_SURVEY

    rng = random.Random(seed)
    with (DATA / "language_samples.tsv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
    samples: dict[str, list[str]] = {}
    for language, text in rows:
        samples.setdefault(language, []).append(text)
    languages = sorted(samples)
    phones: dict[str, phonenumbers.PhoneNumber] = {}
    for regions in PHONE_REGIONS.values():
        for region in regions:
            example = phonenumbers.example_number_for_type(
                region, phonenumbers.PhoneNumberType.MOBILE
            )
            assert example is not None
            phones[region] = example

    def phone(language: str) -> str:
        region = rng.choice(PHONE_REGIONS[language])
        example = phones[region]
        assert example.national_number is not None
        number = phonenumbers.PhoneNumber()
        number.merge_from(example)
        for _ in range(20):  # vary the last two digits while the number stays valid
            number.national_number = example.national_number // 100 * 100 + rng.randrange(100)
            if phonenumbers.is_valid_number(number):
                break
        else:
            number.merge_from(example)
        style = rng.choice(
            (phonenumbers.PhoneNumberFormat.NATIONAL, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        )
        return phonenumbers.format_number(number, style)

    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as out:
        for _ in range(count):
            if rng.random() < DEMO_SHARE:
                language = rng.choice(DEMO_LANGUAGES)
                written = None
                while written is None:
                    score = rng.randint(0, 10)
                    written = write_comment(NPS_SURVEY, score, language, None, rng.random(), rng)
                text = written
            else:
                language = rng.choice(languages)
                lines = rng.randint(1, 3)
                text = " ".join(rng.choice(samples[language]) for _ in range(lines))
                score = rng.randint(0, 10)
            text = _typos(text, rng)
            roll = rng.random()
            planted = None
            if roll < EMAIL_SHARE:
                planted = "email"
                name = rng.choice(("anna", "erik", "j.smith", "maria.silva", "k_novak"))
                domain = rng.choice(("example.com", "mail.example.org", "example.net"))
                label = rng.choice(("mail", "e-mail", "contact"))
                text += f" {label}: {name}{rng.randrange(99)}@{domain}"
            elif roll < EMAIL_SHARE + PHONE_SHARE:
                planted = "phone"
                text += f" {phone(language)}"
            elif roll < EMAIL_SHARE + PHONE_SHARE + ORDER_NUMBER_SHARE:
                planted = "order number"
                text += f" ({ORDER_WORDS[language]} {rng.randrange(10_000, 99_999_999)})"
            record = {
                "text": text,
                "score": score if rng.random() < SCORED_SHARE else None,
                "hint": language if rng.random() < HINTED_SHARE else None,
                "language": language,
                "planted": planted,
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    tmp.replace(path)


_WORD = re.compile(r"\w+")


def _typos(text: str, rng: random.Random) -> str:
    """Some words misspelt as people do: a letter dropped, doubled or two swapped."""

    def change(match: re.Match[str]) -> str:
        word = match.group(0)
        if len(word) < 4 or not word.isalpha() or rng.random() >= TYPO_RATE:
            return word
        at = rng.randrange(1, len(word) - 1)
        kind = rng.randrange(3)
        if kind == 0:
            return word[:at] + word[at + 1 :]
        if kind == 1:
            return word[:at] + word[at] + word[at:]
        return word[: at - 1] + word[at] + word[at - 1] + word[at + 1 :]

    return _WORD.sub(change, text)


def prepare_data(count: int, regenerate: bool) -> Path:
    path = data_path(count)
    if path.exists() and not regenerate:
        print(f"data: cached {path.relative_to(REPO)}")
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    print(f"data: generating {count:,} comments in {path.relative_to(REPO)} ...", flush=True)
    # In a process of its own: a child's peak memory would count what it inherited from here.
    subprocess.run(
        [sys.executable, __file__, "--generate", str(count), str(path)], check=True, cwd=REPO
    )
    return path


def describe_data(path: Path) -> dict[str, Any]:
    records = [json.loads(line) for line in path.open(encoding="utf-8")]
    words = [len(_WORD.findall(r["text"])) for r in records]
    return {
        "comments": len(records),
        "languages": dict(sorted(Counter(r["language"] for r in records).items())),
        "scored": sum(1 for r in records if r["score"] is not None),
        "hinted": sum(1 for r in records if r["hint"] is not None),
        "mean_chars": statistics.fmean(len(r["text"]) for r in records),
        "mean_words": statistics.fmean(words),
        "distinct_words": len({w.lower() for r in records for w in _WORD.findall(r["text"])}),
        "with_email": sum(1 for r in records if "@" in r["text"]),
    }


# --------------------------------------------------------------------------- the child


class Stages:
    """Wall and CPU seconds of each named stage, in order."""

    def __init__(self) -> None:
        self.times: dict[str, dict[str, float]] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        yield
        self.times[name] = {
            "wall": time.perf_counter() - wall,
            "cpu": time.process_time() - cpu,
        }


def child(path: Path, mode: str, breakdown: bool) -> dict[str, Any]:
    """One measured run, in a fresh process: prints the stage times as JSON."""
    stages = Stages()
    with stages.stage("read comments"):
        records = [json.loads(line) for line in path.open(encoding="utf-8")]
    if mode == "baseline":
        with stages.stage("lowercase and tokenise"):
            tokens = [_WORD.findall(record["text"].lower()) for record in records]
        return {"stages": stages.times, "tokens": sum(map(len, tokens))}

    with stages.stage("imports"):
        from cxpulse.metrics import MetricSpec
        from cxpulse.redaction import redact, without_placeholders
        from cxpulse.text import analysis
        from cxpulse.text.analysis import CommentInput, Prepared, analyse
        from cxpulse.text.discovery import discover_themes
        from cxpulse.text.languages import detect_languages
        from cxpulse.text.lemmas import content_lemmas
        from cxpulse.text.sentiment import band_sentiment, train_models
        from cxpulse.text.taxonomy import starter_taxonomy
        from cxpulse.text.theme_matching import ThemeMatcher
        from cxpulse.text.theme_table import theme_table

    with stages.stage("theme matcher"):
        taxonomy = starter_taxonomy()
        matcher = ThemeMatcher(taxonomy)
    with stages.stage("language detector start-up"):
        detect_languages(["warm up"], [None])  # builds lingua's detector and loads its models

    spec = MetricSpec.default("nps")
    comments = [
        CommentInput(
            record["text"],
            None if record["score"] is None else band_sentiment(record["score"], spec.thresholds),
            record["hint"],
        )
        for record in records
    ]

    with stages.stage("redaction"):
        redactions = [redact(comment.text) for comment in comments]
        redacted = [found.text for found in redactions]
    with stages.stage("language detection"):
        languages = detect_languages(
            [without_placeholders(text) for text in redacted],
            [comment.language_hint for comment in comments],
        )
    prepared = Prepared(comments, redacted, languages)

    with stages.stage("lemma dictionaries and theme index (languages found)"):
        # The matcher builds a language's index on its first clause, which loads simplemma's
        # dictionary for it: timed here so that the analysis stage is the analysis alone.
        for language in sorted({found for found in languages if found is not None}):
            matcher.match_text("warm up", language)

    with stages.stage("sentiment training"):
        models = train_models(prepared.training_examples())

    timers: dict[str, list[float]] = {}
    if breakdown:
        _instrument(analysis, timers)
    with stages.stage("analysis"):
        analyses = analyse(comments, matcher=matcher, models=models, prepared=prepared)
    if breakdown:
        for name, (seconds, calls) in _totals(timers).items():
            stages.times[f"  of which {name} ({calls:,} calls)"] = {
                "wall": seconds,
                "cpu": float("nan"),
            }

    with stages.stage("discovery: content lemmas"):
        docs = [
            content_lemmas(found.redacted, found.language) if found.language else ()
            for found in analyses
        ]
    with stages.stage("discovery: themes"):
        exclude = {
            " ".join(lemmas)
            for theme in taxonomy.themes
            for language in {found.language for found in analyses if found.language}
            for phrase in theme.phrases_in(language)
            if (lemmas := content_lemmas(phrase, language))
        }
        discovered = discover_themes(docs, max_themes=8, min_docs=5, exclude=exclude)

    with stages.stage("themes table"):
        scores = [record["score"] for record in records]
        table = theme_table(analyses, scores, spec, taxonomy=taxonomy, discover=False)

    truth = [record["language"] for record in records]
    return {
        "stages": stages.times,
        "models": sorted(models),
        "redaction": _redaction_check(records, redactions),
        "language_accuracy": sum(1 for a, b in zip(languages, truth, strict=True) if a == b)
        / len(truth),
        "sentiments": dict(Counter(str(found.sentiment) for found in analyses)),
        "sources": dict(Counter(str(found.sentiment_source) for found in analyses)),
        "with_themes": sum(1 for found in analyses if found.themes),
        "discovered": [f"{theme.label} ({theme.size})" for theme in discovered],
        "table_rows": len(table.whole.themes),
    }


def _redaction_check(
    records: Sequence[dict[str, Any]], redactions: Sequence[Any]
) -> dict[str, Any]:
    """What redaction made of each kind of planted data ("none": comments without any)."""
    found: dict[str, Counter[str]] = {}
    for record, redacted in zip(records, redactions, strict=True):
        planted = record["planted"] or "none"
        kinds = "+".join(redacted.kinds) or "untouched"
        found.setdefault(planted, Counter())[kinds] += 1
    return {planted: dict(counts.most_common()) for planted, counts in sorted(found.items())}


def _instrument(module: Any, timers: dict[str, list[float]]) -> None:
    """Wrap the functions ``text.analysis`` calls, to split the analysis stage (this process
    only; a wrapper costs about a microsecond a call)."""
    from cxpulse.text import sentiment_model
    from cxpulse.text.theme_matching import ThemeMatcher

    def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        spent = timers.setdefault(name, [0.0, 0.0])

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - started
                spent[1] += 1

        return wrapper

    module.clauses = timed("clauses", module.clauses)
    module.lemmatise = timed("lemmatise", module.lemmatise)
    module.lexicon_sentiment = timed("lexicon sentiment", module.lexicon_sentiment)
    ThemeMatcher.match = timed("theme matching", ThemeMatcher.match)  # type: ignore[method-assign]
    model_class = sentiment_model.SentimentModel
    model_class.predict = timed("model predict", model_class.predict)  # type: ignore[method-assign]


def _totals(timers: dict[str, list[float]]) -> dict[str, tuple[float, int]]:
    return {name: (spent[0], int(spent[1])) for name, spent in timers.items()}


# --------------------------------------------------------------------------- the parent


@dataclass(frozen=True)
class Run:
    mode: str
    seconds: float
    cpu_seconds: float
    peak_mb: float
    load: float
    others: float | None
    report: dict[str, Any]


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _busy_seconds() -> float | None:
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    values = [int(value) for value in fields]
    busy = sum(values) - values[3] - (values[4] if len(values) > 4 else 0)
    return busy / os.sysconf("SC_CLK_TCK")


def run_child(path: Path, mode: str, breakdown: bool, profile: Path | None = None) -> Run:
    argv = [sys.executable]
    if profile is not None:
        argv += ["-m", "cProfile", "-o", str(profile)]
    argv += [__file__, "--child", str(path), mode]
    if breakdown:
        argv.append("--breakdown")
    load = os.getloadavg()[0]
    busy_before = _busy_seconds()
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, cwd=REPO)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    busy_after = _busy_seconds()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"the {mode} run failed (exit {os.waitstatus_to_exitcode(status)})")
    cpu = usage.ru_utime + usage.ru_stime
    others = None
    if busy_before is not None and busy_after is not None and seconds > 0:
        others = max(0.0, (busy_after - busy_before - cpu) / (seconds * _cpus()))
    peak = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024) / 1e6
    report = json.loads(output.decode().strip().splitlines()[-1])
    return Run(mode, seconds, cpu, peak, load, others, report)


def _describe(run: Run) -> str:
    others = "" if run.others is None else f", others used {run.others:.0%} of the CPUs"
    return (
        f"{run.mode}: {run.seconds:.2f} s (CPU {run.cpu_seconds:.1f} s), {run.peak_mb:.0f} MB,"
        f" load average {run.load:.1f}{others}"
    )


def summarise(runs: Sequence[Run]) -> dict[str, Any]:
    full = [run for run in runs if run.mode == "full"]
    base = [run for run in runs if run.mode == "baseline"]
    names = list(full[0].report["stages"]) if full else []
    stage_rows = [
        {
            "stage": name,
            "wall": statistics.median(run.report["stages"][name]["wall"] for run in full),
            "cpu": statistics.median(run.report["stages"][name]["cpu"] for run in full),
        }
        for name in names
    ]

    def summary(group: Sequence[Run]) -> dict[str, Any]:
        return {
            "runs": len(group),
            "median_s": statistics.median(run.seconds for run in group),
            "min_s": min(run.seconds for run in group),
            "max_s": max(run.seconds for run in group),
            "median_cpu_s": statistics.median(run.cpu_seconds for run in group),
            "peak_mb_median": statistics.median(run.peak_mb for run in group),
            "peak_mb_max": max(run.peak_mb for run in group),
            "load": [round(run.load, 1) for run in group],
            "others": [None if run.others is None else round(run.others, 2) for run in group],
        }

    return {
        "full": summary(full) if full else None,
        "baseline": summary(base) if base else None,
        "stages": stage_rows,
        "last_report": {k: v for k, v in full[-1].report.items() if k != "stages"} if full else {},
    }


def print_summary(result: dict[str, Any]) -> None:
    full, base = result["full"], result["baseline"]
    print()
    print(
        "| process | runs | min s | median s | max s | median CPU s | peak MB (max)"
        " | load average |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for name, row in (
        ("cxpulse text stage, end to end", full),
        ("baseline: lowercase + tokenise", base),
    ):
        if row is None:
            continue
        print(
            f"| {name} | {row['runs']} | {row['min_s']:.2f} | {row['median_s']:.2f} |"
            f" {row['max_s']:.2f} | {row['median_cpu_s']:.1f} | {row['peak_mb_max']:.0f} |"
            f" {', '.join(map(str, row['load']))} |"
        )
    if result["stages"]:
        print("\n| stage (median of the runs) | wall s | CPU s |")
        print("|---|---:|---:|")
        for row in result["stages"]:
            cpu = "" if row["cpu"] != row["cpu"] else f"{row['cpu']:.2f}"
            print(f"| {row['stage']} | {row['wall']:.2f} | {cpu} |")
    if full:
        seconds, peak = full["median_s"], full["peak_mb_max"]
        print(
            f"\nTargets: at most {TARGET_SECONDS:.0f} s: {seconds:.1f} s"
            f" ({'pass' if seconds <= TARGET_SECONDS else 'FAIL'});"
            f" at most {TARGET_MB:.0f} MB: {peak:.0f} MB"
            f" ({'pass' if peak <= TARGET_MB else 'FAIL'})"
        )
        print("Checks of the last run:", json.dumps(result["last_report"], ensure_ascii=False))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--breakdown", action="store_true", help="split the analysis stage")
    parser.add_argument("--profile", type=Path, help="one extra run under cProfile, saved here")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--generate", nargs=2, metavar=("COUNT", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--child", nargs=2, metavar=("PATH", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.generate:
        generate(int(args.generate[0]), Path(args.generate[1]))
        return 0
    if args.child:
        print(json.dumps(child(Path(args.child[0]), args.child[1], args.breakdown)))
        return 0

    path = prepare_data(args.count, args.regenerate)
    data = describe_data(path)
    print(
        f"{data['comments']:,} comments, {data['mean_words']:.1f} words"
        f" ({data['mean_chars']:.0f} characters) on average, {data['distinct_words']:,} distinct"
        f" words; per language {data['languages']}; {data['scored']:,} scored,"
        f" {data['hinted']:,} with a language hint, {data['with_email']:,} with an e-mail address"
    )
    print(f"machine: {_cpus()} CPUs, load average {os.getloadavg()[0]:.1f}", flush=True)
    runs: list[Run] = []
    for number in range(args.runs):
        for mode in ("full", "baseline"):
            run = run_child(path, mode, args.breakdown)
            runs.append(run)
            print(f"run {number + 1}: {_describe(run)}", flush=True)
    result: dict[str, Any] = {"data": data}
    if runs:
        result.update(summarise(runs))
        print_summary(result)
    if args.profile is not None:
        run = run_child(path, "full", False, args.profile)
        print(f"\nprofiled run: {_describe(run)} (cProfile slows it down)")
        import pstats

        stats = pstats.Stats(str(args.profile))
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)
    if args.json is not None:
        result["runs"] = [run.__dict__ for run in runs]
        args.json.write_text(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
