"""Options the scoring commands share: scales and bands, formats."""

from __future__ import annotations

from pathlib import Path

import pytest

from .scoring_cli import run, write_channels_csv


@pytest.fixture
def channels_csv(tmp_path: Path) -> Path:
    return write_channels_csv(tmp_path)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["-m", "csat", "--scale", "2-9"], "CSAT is asked on"),
        (["-m", "ces", "--scale", "thumbs"], "CES is asked on 1-7 or 1-5, not thumbs"),
        (["-m", "ces", "--scale", "0-10"], "CES is asked on"),
        (["-m", "nps", "--scale", "0-10", "--top-min", "11"], "--top-min 11 lies outside"),
        (["-m", "csat", "--bottom-max", "0"], "--bottom-max 0 lies outside the 1-5 scale"),
    ],
)
def test_scales_and_bands_that_do_not_fit_are_refused(
    channels_csv: Path, args: list[str], words: str
) -> None:
    for command in ("score", "compare"):
        extra = ["--between", "channel=email,chat"] if command == "compare" else []
        result = run(command, str(channels_csv), "-s", "rating", *args, *extra, check=False)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        message = " ".join(result.stderr.split())
        assert message.startswith("error:")
        assert words in message
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["score", "compare", "samplesize", "benchmark"])
def test_format_help_lists_only_formats_that_work(
    command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # no wrapping inside the options box
    text = " ".join(run(command, "--help").stdout.split())
    assert "table (default on a terminal), json (default otherwise), csv or markdown" in text
    assert "table or json." not in text
