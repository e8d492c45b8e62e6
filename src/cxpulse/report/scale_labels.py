"""What each answer of a scale means, for the distribution charts and tables: "1 Very
dissatisfied" ... "5 Very satisfied", "1 Strongly disagree" ... "7 Strongly agree", "0 Not at
all likely" ... "10 Extremely likely".

The words are the survey page's own (``collect.questions.choices``), in English like the rest
of the dashboard and report, so a chart names an answer as the respondent saw it.
"""

from __future__ import annotations

import math

from cxpulse.collect.questions import choices
from cxpulse.metrics import Metric, MetricSpec
from cxpulse.report.charts import ScaleBands


def _english(text: str) -> str:
    return text


def _english_plural(singular: str, plural: str, count: int) -> str:
    return singular if count == 1 else plural


def scale_labels(spec: MetricSpec) -> dict[int, str]:
    """Each scale value with its words where the scale has them, else its number."""
    scale = spec.scale
    satisfaction = spec.metric in (Metric.CSAT, Metric.DSAT, Metric.MEAN)
    if satisfaction and (scale.low, scale.high) == (1, 5):
        presentation = "emoji"  # the five satisfaction words, one per value
    elif (scale.low, scale.high) == (0, 1):
        presentation = "thumbs"
    else:
        presentation = "numbers"
    out = {}
    for choice in choices(spec, presentation, _english, _english_plural):
        if choice.words:
            out[choice.value] = f"{choice.value} {choice.words}"
        else:
            out[choice.value] = choice.label.replace(" – ", " ")
    return out


def _span(low: float, high: float) -> str:
    def text(value: float) -> str:
        return str(int(value)) if float(value).is_integer() else f"{value:g}"

    return text(low) if low == high else f"{text(low)}–{text(high)}"


def scale_bands(spec: MetricSpec) -> ScaleBands:
    """The survey's three bands with their names and the answers each holds, from its
    thresholds: "Detractors 0–6", "Passives 7–8", "Promoters 9–10"; for CES "Hard 1–3",
    "Neutral 4", "Easy 5–7"; otherwise "Dissatisfied 1–2", "Neutral 3", "Satisfied 4–5"."""
    low, high = spec.scale.low, spec.scale.high
    bottom, top = spec.thresholds.bottom_max, spec.thresholds.top_min
    if spec.metric is Metric.NPS:
        words = ("Detractors", "Passives", "Promoters")
    elif spec.metric is Metric.CES:
        words = ("Hard", "Neutral", "Easy")
    else:
        words = ("Dissatisfied", "Neutral", "Satisfied")
    # The middle band holds the whole values strictly between the two thresholds.
    middle_low, middle_high = math.floor(bottom) + 1, math.ceil(top) - 1
    middle = _span(middle_low, middle_high) if middle_low <= middle_high else ""
    names = (
        f"{words[0]} {_span(low, bottom)}",
        f"{words[1]} {middle}".strip(),
        f"{words[2]} {_span(top, high)}",
    )
    return ScaleBands(bottom_max=bottom, top_min=top, names=names)
