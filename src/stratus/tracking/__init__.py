"""MLflow-compatible tracking: experiments and runs, independent of HTTP."""

from __future__ import annotations

import time


def now_ms() -> int:
    """MLflow's clock: epoch milliseconds."""
    return int(time.time() * 1000)
