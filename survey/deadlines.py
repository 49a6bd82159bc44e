"""Managers' deadlines: how each client-service manager keeps the case SLAs.

Per manager and period (the cases of the period's surveys, as in every report): cases
taken, the median time from the case opening to its take and to its resolution, the share
taken within CASE_TAKE_SLA and resolved within CASE_RESOLVE_SLA (both counted in working
hours, as the case's due times are), the share reopened (by staff or by the customer), and
the customers' answers to "is the problem solved?". A case counts for the manager who has
it now (who took it, or took it back after a reopen).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from survey.metrics import share


@dataclass(frozen=True, slots=True)
class HandledCase:
    """One taken case, as the deadline figures need it."""

    manager_id: int
    manager: str
    created_at: datetime
    taken_at: datetime
    resolved_at: datetime | None
    take_due_at: datetime | None
    resolve_due_at: datetime | None
    reopened: bool
    said_fixed: bool
    said_not_fixed: bool


@dataclass(frozen=True, slots=True)
class ManagerFigures:
    manager_id: int
    manager: str
    taken: int
    resolved: int
    taken_in_time: int
    resolved_in_time: int
    median_take_seconds: float | None
    median_resolve_seconds: float | None
    reopened: int
    said_fixed: int
    said_not_fixed: int

    @property
    def take_sla_share(self) -> float | None:
        """Taken within CASE_TAKE_SLA / taken."""
        return share(self.taken_in_time, self.taken)

    @property
    def resolve_sla_share(self) -> float | None:
        """Resolved within CASE_RESOLVE_SLA / resolved."""
        return share(self.resolved_in_time, self.resolved)

    @property
    def reopened_share(self) -> float | None:
        """Reopened at least once / taken."""
        return share(self.reopened, self.taken)


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def manager_figures(cases: Iterable[HandledCase]) -> list[ManagerFigures]:
    """One row per manager, by name."""
    by_manager: dict[int, list[HandledCase]] = {}
    for case in cases:
        by_manager.setdefault(case.manager_id, []).append(case)
    rows = []
    for manager_id, handled in by_manager.items():
        resolved = [c for c in handled if c.resolved_at is not None]
        rows.append(
            ManagerFigures(
                manager_id=manager_id,
                manager=handled[-1].manager,
                taken=len(handled),
                resolved=len(resolved),
                taken_in_time=sum(
                    c.take_due_at is not None and c.taken_at <= c.take_due_at for c in handled
                ),
                resolved_in_time=sum(
                    c.resolve_due_at is not None
                    and c.resolved_at is not None
                    and c.resolved_at <= c.resolve_due_at
                    for c in resolved
                ),
                median_take_seconds=_median(
                    [(c.taken_at - c.created_at).total_seconds() for c in handled]
                ),
                median_resolve_seconds=_median(
                    [
                        (c.resolved_at - c.created_at).total_seconds()
                        for c in resolved
                        if c.resolved_at is not None
                    ]
                ),
                reopened=sum(c.reopened for c in handled),
                said_fixed=sum(c.said_fixed for c in handled),
                said_not_fixed=sum(c.said_not_fixed for c in handled),
            )
        )
    return sorted(rows, key=lambda row: (row.manager.lower(), row.manager_id))
