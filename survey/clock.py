"""Time as the program sees it: a Clock is any callable giving an aware UTC datetime.

Production passes `utc_now`; the tests pass a clock they move instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)
