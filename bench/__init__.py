"""Speed benchmarks (docs/quality.md P1-P6); `make bench` runs them."""

from __future__ import annotations

import os
import platform
import re
from datetime import UTC, datetime
from pathlib import Path


def machine() -> str:
    """The CPU, its cores and the system, for a results file."""
    cpu = platform.processor() or platform.machine()
    try:
        names = re.findall(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores visible, {platform.system()} {platform.release()}"


def stamp() -> list[str]:
    """The date and machine lines every results file starts with."""
    return [f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", f"- Machine: {machine()}"]
