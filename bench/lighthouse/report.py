"""Scores from Lighthouse reports, the targets of docs/quality.md P5, and the results file."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

# Category id in a Lighthouse report -> column heading and the lowest score that passes.
CATEGORIES = {
    "accessibility": ("Accessibility", 100),
    "best-practices": ("Best practices", 95),
    "performance": ("Performance", 95),
    "seo": ("SEO", None),  # measured, no target
}


@dataclass(frozen=True)
class PageScores:
    """One page's scores (0-100), each the median of its runs."""

    name: str
    path: str
    user: str
    scores: dict[str, int]
    # Audits that cost points in the run whose performance score is the median.
    failing: tuple[str, ...] = ()
    # That run's timings and transfer, as Lighthouse writes them (METRICS).
    metrics: dict[str, str] = field(default_factory=dict)


# Audit id -> column heading, for the metrics behind the performance score.
METRICS = {
    "first-contentful-paint": "FCP",
    "largest-contentful-paint": "LCP",
    "total-blocking-time": "TBT",
    "cumulative-layout-shift": "CLS",
    "speed-index": "Speed index",
    "total-byte-weight": "Transfer",
}


def metric_values(report: dict) -> dict[str, str]:
    """The METRICS of one report, as the report shows them (simulated on a slow phone)."""
    out = {}
    for audit_id in METRICS:
        audit = report["audits"].get(audit_id, {})
        if audit_id == "total-byte-weight" and audit.get("numericValue") is not None:
            out[audit_id] = f"{audit['numericValue'] / 1024:.0f} KiB"
        elif audit.get("displayValue"):
            out[audit_id] = audit["displayValue"].replace("\u00a0", " ")
    return out


def category_scores(report: dict) -> dict[str, int]:
    """The 0-100 score of each category in one Lighthouse JSON report."""
    out = {}
    for key, category in report["categories"].items():
        score = category.get("score")
        if score is None:  # a category Lighthouse could not score is not a pass
            raise ValueError(f"Lighthouse gave no {key} score: {report.get('runtimeError')}")
        out[key] = round(score * 100)
    return out


def failing_audits(report: dict) -> list[str]:
    """Audits with a weight in some category that did not score full marks."""
    weighted = {
        ref["id"]
        for category in report["categories"].values()
        for ref in category["auditRefs"]
        if ref.get("weight")
    }
    out = []
    for audit_id in sorted(weighted):
        audit = report["audits"].get(audit_id, {})
        score = audit.get("score")
        if score is not None and score < 1 and audit.get("scoreDisplayMode") != "informative":
            out.append(f"{audit_id} ({score:.2f})")
    return out


def median_scores(runs: Sequence[dict[str, int]]) -> dict[str, int]:
    """Per category, the median over runs (the lower middle one for an even count)."""
    return {key: statistics.median_low(run[key] for run in runs) for key in runs[0]}


def misses(pages: Sequence[PageScores]) -> list[str]:
    """Every page and category under its target, as text."""
    out = []
    for page in pages:
        for key, (heading, target) in CATEGORIES.items():
            if target is not None and key in page.scores and page.scores[key] < target:
                out.append(f"{page.name}: {heading.lower()} {page.scores[key]} < {target}")
    return out


def markdown(
    pages: Sequence[PageScores],
    *,
    date: str,
    lighthouse: str,
    chromium: str,
    machine: str,
    runs: int,
    seconds: float,
) -> str:
    """The results file: how it was measured, then one row per page."""
    keys = [key for key in CATEGORIES if any(key in page.scores for page in pages)]
    targets = ", ".join(
        f"{CATEGORIES[key][0].lower()} {'' if CATEGORIES[key][1] == 100 else 'at least '}"
        f"{CATEGORIES[key][1]}"
        for key in keys
        if CATEGORIES[key][1] is not None
    )
    lines = [
        "# Lighthouse scores (docs/quality.md P5)",
        "",
        "Written by `make lighthouse` (`.venv/bin/python -m bench.lighthouse`): the app under",
        "gunicorn with the demo data on SQLite, pages in bokmål, logged in as the user named;",
        "Lighthouse's mobile form factor with its default (simulated) mobile throttling; each",
        "score the median of the runs.",
        f"Targets: {targets}.",
        "",
        f"- Date: {date}",
        f"- Lighthouse: {lighthouse}",
        f"- Browser: {chromium}",
        f"- Machine: {machine}",
        f"- Runs per page: {runs}; the whole bench took {seconds:.0f} s",
        "",
        "| Page | User | Path | " + " | ".join(CATEGORIES[key][0] for key in keys) + " |",
        "| --- | --- | --- | " + " | ".join("---:" for _ in keys) + " |",
    ]
    for page in pages:
        cells = " | ".join(str(page.scores.get(key, "")) for key in keys)
        lines.append(f"| {page.name} | {page.user} | `{page.path}` | {cells} |")
    if any(page.metrics for page in pages):
        lines += [
            "",
            "The run with the median performance score, as Lighthouse simulates it on a slow",
            "phone over a slow 4G connection; Transfer is what the page loaded over the network:",
            "",
            "| Page | " + " | ".join(METRICS.values()) + " |",
            "| --- | " + " | ".join("---:" for _ in METRICS) + " |",
        ]
        for page in pages:
            cells = " | ".join(page.metrics.get(key, "") for key in METRICS)
            lines.append(f"| {page.name} | {cells} |")
    missed = misses(pages)
    lines += ["", "All targets met." if not missed else "Missed: " + "; ".join(missed) + "."]
    costs = [f"- {page.name}: {', '.join(page.failing)}" for page in pages if page.failing]
    if costs:
        lines += ["", "Scored audits under full marks (the run with the median performance):", ""]
        lines += costs
    return "\n".join(lines) + "\n"
