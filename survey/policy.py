"""The policies the domain and the handlers work by, as small frozen dataclasses.

`bot.settings.Settings` reads them from the environment and builds one `Policies`; every
other room receives only the parts it needs, never the settings themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from survey.calls import CallPolicy
from survey.digest import DigestPolicy
from survey.escalation import DEFAULT_RULES, EscalationRules
from survey.feedback import FeedbackPolicy
from survey.visit_import import ImportLimits
from survey.working_hours import WorkingHours

ADMIN, MANAGER, OPERATOR = "admin", "manager", "operator"
ROLES = (ADMIN, MANAGER, OPERATOR)
# Who works cases and reads the reports; an operator phones customers only.
CASE_ROLES = (ADMIN, MANAGER)
# The languages the bot speaks; the first is the default.
LANGUAGES = ("ru", "en")
AlertTo = Literal["both", "group", "managers"]


@dataclass(frozen=True, slots=True)
class Dealer:
    """How the bot presents itself: name, time zone, default language, privacy policy."""

    name: str
    zone: ZoneInfo
    language: str = "ru"
    privacy_url: str | None = None
    # The case board's public HTTPS address (a Telegram Mini App), None when there is none.
    board_url: str | None = None


@dataclass(frozen=True, slots=True)
class Staffing:
    """Who is staff by configuration, and where a new case is announced."""

    admin_ids: tuple[int, ...] = ()
    manager_ids: tuple[int, ...] = ()
    operator_ids: tuple[int, ...] = ()
    managers_chat_id: int | None = None
    alert_to: AlertTo = "both"

    @property
    def staff_ids(self) -> frozenset[int]:
        return frozenset(self.admin_ids + self.manager_ids + self.operator_ids)

    def configured_role(self, user_id: int) -> str | None:
        if user_id in self.admin_ids:
            return ADMIN
        if user_id in self.manager_ids:
            return MANAGER
        if user_id in self.operator_ids:
            return OPERATOR
        return None


@dataclass(frozen=True, slots=True)
class CasePolicy:
    """What opens a case and how long it may wait."""

    hours: WorkingHours
    rules: EscalationRules = DEFAULT_RULES
    take_sla: timedelta = timedelta(hours=2)
    resolve_sla: timedelta = timedelta(hours=48)


@dataclass(frozen=True, slots=True)
class OutreachPolicy:
    """Who may be invited when, and how fast the bot may write."""

    send_hours: WorkingHours
    invite_delay: timedelta = timedelta(hours=24)
    survey_cooldown: timedelta = timedelta(days=30)
    reminder_after: timedelta = timedelta(hours=24)
    survey_ttl: timedelta = timedelta(days=7)
    send_rate: float = 25
    send_lease: timedelta = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class SegmentPolicy:
    """Loyalty segments: satisfied at or above this CSI, returning at this many visits."""

    csi_threshold: float = 80
    repeat_visits: int = 2


@dataclass(frozen=True, slots=True)
class Policies:
    dealer: Dealer
    staffing: Staffing
    cases: CasePolicy
    outreach: OutreachPolicy
    segments: SegmentPolicy
    imports: ImportLimits = field(default_factory=ImportLimits)
    digest: DigestPolicy = field(default_factory=DigestPolicy)
    feedback: FeedbackPolicy = field(default_factory=FeedbackPolicy)
    calls: CallPolicy = field(default_factory=CallPolicy)
