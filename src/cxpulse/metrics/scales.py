"""Answer scales and the bands (satisfied, dissatisfied, promoter, ...) defined on them.

A scale is a closed range of whole numbers. Stars and emoji are presentations of the 1-5
scale, not scales of their own, so they parse to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ScaleError(ValueError):
    """A scale, or bands on it, that cannot score a metric.

    ``field`` names the setting at fault (``scale``, ``thresholds``, ``top_min`` or
    ``bottom_max``), so the API can point at the field the caller sent.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class Metric(StrEnum):
    CSAT = "csat"
    DSAT = "dsat"
    NPS = "nps"
    CES = "ces"
    MEAN = "mean"


@dataclass(frozen=True)
class Scale:
    """Whole-number answers from ``low`` to ``high`` inclusive."""

    low: int
    high: int

    def __post_init__(self) -> None:
        if self.high <= self.low:
            raise ScaleError("scale", f"a scale needs high > low, got {self.low}-{self.high}")

    @property
    def name(self) -> str:
        if (self.low, self.high) == (0, 1):
            return "thumbs"
        return f"{self.low}-{self.high}"

    @property
    def values(self) -> range:
        return range(self.low, self.high + 1)

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high and float(value).is_integer()

    def __str__(self) -> str:
        return self.name


THUMBS = Scale(0, 1)
FIVE = Scale(1, 5)
SEVEN = Scale(1, 7)
ELEVEN = Scale(0, 10)

_NAMED_SCALES = {
    "thumbs": THUMBS,
    "stars": FIVE,
    "emoji": FIVE,
}

DEFAULT_SCALE: dict[Metric, Scale] = {
    Metric.CSAT: FIVE,
    Metric.DSAT: FIVE,
    Metric.NPS: ELEVEN,
    Metric.CES: SEVEN,
    Metric.MEAN: FIVE,
}

SUPPORTED_SCALES: dict[Metric, tuple[str, ...]] = {
    Metric.CSAT: ("1-3", "1-5", "1-7", "1-10", "thumbs"),
    Metric.DSAT: ("1-3", "1-5", "1-7", "1-10", "thumbs"),
    Metric.NPS: ("0-10", "1-10"),
    Metric.CES: ("1-7", "1-5"),
}


def parse_scale(text: str) -> Scale:
    """Parse ``"1-5"``, ``"0-10"``, ``"thumbs"``, ``"stars"`` or ``"emoji"``."""
    cleaned = text.strip().lower()
    if cleaned in _NAMED_SCALES:
        return _NAMED_SCALES[cleaned]
    low_text, sep, high_text = cleaned.partition("-")
    problem = f"scale {text!r} is not LOW-HIGH (such as 1-5) or thumbs/stars/emoji"
    if not sep:
        raise ScaleError("scale", problem)
    try:
        low, high = int(low_text), int(high_text)
    except ValueError:
        raise ScaleError("scale", problem) from None
    return Scale(low, high)


@dataclass(frozen=True)
class Thresholds:
    """Where the bands of a scale start and end, inclusive.

    ``top_min``: lowest answer counted as satisfied / promoter / agree.
    ``bottom_max``: highest answer counted as dissatisfied / detractor / disagree.
    """

    top_min: float
    bottom_max: float

    def __post_init__(self) -> None:
        if self.bottom_max >= self.top_min:
            raise ScaleError(
                "thresholds",
                f"bottom band (<= {self.bottom_max}) must lie below top band (>= {self.top_min})",
            )


def default_thresholds(metric: Metric, scale: Scale) -> Thresholds:
    """The defaults of the design file: top-2-box satisfied, bottom-2-box dissatisfied.

    The 1-10 scale is split in halves for DSAT (1-5 dissatisfied), NPS bands apply to 1-10 as
    to 0-10, CES counts 5-7 of 1-7 (4-5 of 1-5) as agreement.
    """
    low, high = scale.low, scale.high
    if metric is Metric.NPS:
        if high != 10:
            raise ScaleError("scale", f"NPS is asked on 0-10 (or 1-10), not {scale}")
        return Thresholds(top_min=9, bottom_max=6)
    if scale == THUMBS:
        return Thresholds(top_min=1, bottom_max=0)
    if metric is Metric.CES:
        if (low, high) == (1, 7):
            return Thresholds(top_min=5, bottom_max=3)
        if (low, high) == (1, 5):
            return Thresholds(top_min=4, bottom_max=2)
        midpoint = (low + high) / 2
        return Thresholds(top_min=midpoint + 0.5, bottom_max=midpoint - 0.5)
    if (low, high) == (1, 3):
        return Thresholds(top_min=3, bottom_max=1)
    if (low, high) == (1, 10):
        return Thresholds(top_min=9, bottom_max=5)
    return Thresholds(top_min=high - 1, bottom_max=low + 1)


def check_scoring(
    metric: Metric, scale: Scale, thresholds: Thresholds, *, own_bands: bool = False
) -> None:
    """Refuse a metric on a scale it is not asked on, and bands that fall off the scale.

    ``own_bands``: both thresholds were chosen by the user rather than defaulted. CSAT and DSAT
    are nothing but the share of one band, so chosen bands score them correctly on any scale
    (a 1-4 CSAT survey, say), while the defaults on an unlisted scale would be guesses. NPS and
    CES are defined on their own scales and refuse others whatever the bands.
    """
    _check_supported(metric, scale, own_bands=own_bands)
    _check_within(scale, thresholds)


def _check_supported(metric: Metric, scale: Scale, *, own_bands: bool) -> None:
    supported = SUPPORTED_SCALES.get(metric)
    if supported is None or scale.name in supported:
        return
    band_metric = metric in (Metric.CSAT, Metric.DSAT)
    if band_metric and own_bands:
        return
    listed = f"{', '.join(supported[:-1])} or {supported[-1]}"
    hint = "; on another scale set both top_min and bottom_max" if band_metric else ""
    raise ScaleError("scale", f"{metric.value.upper()} is asked on {listed}, not {scale}{hint}")


def _check_within(scale: Scale, thresholds: Thresholds) -> None:
    # A band starting off the scale silently counts no one (top_min 11 of 0-10: no promoters).
    for field, value in (("top_min", thresholds.top_min), ("bottom_max", thresholds.bottom_max)):
        if not scale.low <= value <= scale.high:
            raise ScaleError(
                field,
                f"{field} {value:g} lies outside the {scale} scale "
                f"(from {scale.low} to {scale.high})",
            )
