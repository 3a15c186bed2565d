"""The Lighthouse bench's arithmetic and results file (bench/lighthouse/report.py).

No Lighthouse here: the reports are the few fields of Lighthouse's JSON the bench reads.
"""

from __future__ import annotations

import pytest

from bench.lighthouse.report import (
    PageScores,
    category_scores,
    failing_audits,
    markdown,
    median_scores,
    metric_values,
    misses,
)


def lighthouse_report(**scores: float | None) -> dict:
    return {
        "categories": {
            key.replace("_", "-"): {
                "score": score,
                "auditRefs": [
                    {"id": "color-contrast", "weight": 7},
                    {"id": "bf-cache", "weight": 0},
                ],
            }
            for key, score in scores.items()
        },
        "audits": {
            "color-contrast": {"score": 0, "scoreDisplayMode": "binary"},
            "bf-cache": {"score": 0, "scoreDisplayMode": "binary"},
            "largest-contentful-paint": {"displayValue": "1.6\u00a0s", "numericValue": 1612.4},
            "total-byte-weight": {
                "displayValue": "Total size was 84\u00a0KiB",
                "numericValue": 86500,
            },
        },
    }


def test_scores_are_whole_percentages() -> None:
    report = lighthouse_report(accessibility=0.954, best_practices=1, performance=0.985)
    assert category_scores(report) == {
        "accessibility": 95,
        "best-practices": 100,
        "performance": 98,
    }


def test_a_category_without_a_score_is_an_error_not_a_zero_or_a_pass() -> None:
    with pytest.raises(ValueError, match="performance"):
        category_scores(lighthouse_report(accessibility=1, performance=None))


def test_only_audits_that_carry_weight_are_listed_as_costing_points() -> None:
    assert failing_audits(lighthouse_report(accessibility=0.9)) == ["color-contrast (0.00)"]


def test_metrics_are_kept_as_lighthouse_shows_them_and_transfer_in_kib() -> None:
    assert metric_values(lighthouse_report(performance=1)) == {
        "largest-contentful-paint": "1.6 s",
        "total-byte-weight": "84 KiB",
    }


def test_the_median_of_each_category_is_a_score_that_was_measured() -> None:
    runs = [
        {"performance": 90, "accessibility": 100},
        {"performance": 99, "accessibility": 100},
        {"performance": 96, "accessibility": 100},
        {"performance": 97, "accessibility": 100},
    ]
    assert median_scores(runs) == {"performance": 96, "accessibility": 100}


def pages() -> list[PageScores]:
    full = {"accessibility": 100, "best-practices": 100, "performance": 100}
    return [
        PageScores("Front page", "/", "-", full, metrics={"largest-contentful-paint": "1.6 s"}),
        PageScores(
            "Meldinger",
            "/messages",
            "kari",
            full | {"accessibility": 98, "performance": 95},
            ("color-contrast (0.00)",),
        ),
    ]


def test_targets_are_accessibility_100_and_95_for_the_others() -> None:
    assert misses(pages()) == ["Meldinger: accessibility 98 < 100"]


def test_the_results_file_is_a_markdown_table_with_how_it_was_measured() -> None:
    text = markdown(
        pages(),
        date="2026-12-01 18:50 UTC",
        lighthouse="12.8.2",
        chromium="Chromium 140",
        machine="2 cores",
        runs=3,
        seconds=301.4,
    )
    lines = text.splitlines()
    assert "- Lighthouse: 12.8.2" in lines
    assert "- Runs per page: 3; the whole bench took 301 s" in lines
    header = lines.index("| Page | User | Path | Accessibility | Best practices | Performance |")
    assert lines[header + 1] == "| --- | --- | --- | ---: | ---: | ---: |"
    assert lines[header + 2] == "| Front page | - | `/` | 100 | 100 | 100 |"
    assert lines[header + 3] == "| Meldinger | kari | `/messages` | 98 | 100 | 95 |"
    assert "Missed: Meldinger: accessibility 98 < 100." in lines
    assert "- Meldinger: color-contrast (0.00)" in lines
    metrics = lines.index("| Page | FCP | LCP | TBT | CLS | Speed index | Transfer |")
    assert lines[metrics + 2] == "| Front page |  | 1.6 s |  |  |  |  |"
