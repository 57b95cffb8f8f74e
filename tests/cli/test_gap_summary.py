"""The gap classifier's summary in the CLI: scores beside the baseline named by frequency, a ✓
only when the verdict says better, the window-level outage line, and old runs still shown."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from gapcast.cli.progress import gap_table


def _text(gap: dict[str, Any]) -> str:
    console = Console(record=True, width=160)
    console.print(gap_table(gap))
    return console.export_text()


def _gap(better: bool, text: str) -> dict[str, Any]:
    return {
        "precision": 0.6,
        "recall": 0.5,
        "f1": 0.55,
        "roc_auc": 0.8,
        "average_precision": 0.5,
        "brier": 0.04,
        "threshold": 0.2,
        "baseline": {"f1": 0.57, "average_precision": 0.44, "brier": 0.03, "threshold": 0.57},
        "baseline_name": "day-of-week rate",
        "verdict": {"better": better, "baseline": "day-of-week rate", "text": text},
        "window": {
            "min_steps": 4,
            "precision": 0.9,
            "recall": 0.6,
            "average_precision": 0.81,
            "baseline": {"average_precision": 0.73},
            "windows": 558,
            "positives": 148,
        },
        "gap_rate": 0.05,
        "samples": 558,
        "positives": 1419,
    }


def test_a_better_classifier_gets_a_tick_and_a_no_better_one_does_not() -> None:
    better = _text(_gap(True, "better than the day-of-week rate by 20% (…)"))
    assert "✓ gap classifier: better than the day-of-week rate by 20%" in better
    assert "day-of-week rate" in better.splitlines()[2]  # the baseline's column is named
    assert "Brier score" in better and "threshold" in better
    assert "outage of 4+ steps within the horizon (148 of 558 windows)" in better
    no_better = _text(_gap(False, "no better than the day-of-week rate (…)"))
    assert "✓" not in no_better and "gap classifier: no better than" in no_better


def test_a_run_stored_before_the_verdict_still_shows_its_scores() -> None:
    old = {
        "precision": 0.5,
        "recall": 0.25,
        "f1": 0.33,
        "roc_auc": 0.71,
        "baseline": {"f1": 0.1},
        "gap_rate": 0.02,
        "samples": 330,
    }
    text = _text(old)
    assert "hour-of-week rate" in text and "0.33" in text
    assert "✓" not in text and "Brier" not in text and "outage" not in text


def test_no_outage_in_any_window_is_said_not_scored_as_zero() -> None:
    """A business-day series: gaps every weekend, never four in a row, so no window answers
    "an outage of 4+ steps?" with yes; its precision and recall are unknown, not 0."""
    gap = _gap(True, "better than the day-of-week rate by 20% (…)")
    gap["window"] |= {"positives": 0, "windows": 124, "precision": 0.0, "recall": 0.0}
    gap["window"]["average_precision"] = None
    text = " ".join(_text(gap).split())
    assert (
        "outage of 4+ steps within the horizon: none in the 124 windows scored, so nothing to "
        "score that question on"
    ) in text
    assert "recall" not in text.split("outage of")[1]
