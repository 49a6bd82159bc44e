"""Database tables. Times are stored timezone-aware in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# SQLite autoincrements only an INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
IntPK = BigInteger().with_variant(Integer, "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """SQLite drops the zone of a DATETIME; hand back aware UTC values on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; pass an aware one")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class TelegramUser(Base):
    """Preferences of a person who wrote to the bot, whether or not a customer yet."""

    __tablename__ = "telegram_users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    language: Mapped[str | None] = mapped_column(String(8))
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(IntPK, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # None once the customer asked us to forget them (/forget).
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    # Not unique: one person may have several customer records (a family's cars).
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    # Set when a message to them failed for good (e.g. "blocked"): the call centre phones.
    unreachable_reason: Mapped[str | None] = mapped_column(String(16))
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Visit(Base):
    __tablename__ = "visits"

    id: Mapped[int] = mapped_column(IntPK, primary_key=True)
    order_no: Mapped[str] = mapped_column(String(64), unique=True)
    visit_date: Mapped[date] = mapped_column(Date, index=True)
    car: Mapped[str] = mapped_column(String(200))
    advisor: Mapped[str] = mapped_column(String(200), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    # "unnested": loaded through a case's outer join, the chain stays flat outer joins; a
    # nested join made SQLite join every survey first (130 ms a case at 20,000 surveys).
    # SQLAlchemy documents the value; its annotation says bool.
    customer: Mapped[Customer] = relationship(
        lazy="joined",
        innerjoin="unnested",  # type: ignore[arg-type]
    )


class Survey(Base):
    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(IntPK, primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), unique=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    step: Mapped[int] = mapped_column(SmallInteger, default=1)
    comment: Mapped[str | None] = mapped_column(Text)
    # "telegram", or "phone": walked by a call-centre operator (operator_id) on the
    # customer's behalf; the calls so far, the next one due, the last call's outcome.
    channel: Mapped[str] = mapped_column(String(8), default="telegram", server_default="telegram")
    operator_id: Mapped[int | None] = mapped_column(BigInteger)
    call_attempts: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    next_call_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    call_outcome: Mapped[str | None] = mapped_column(String(10))
    # Photos, voice messages and files sent at the comment step, as Telegram file ids.
    comment_media: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    wants_contact: Mapped[bool | None] = mapped_column(Boolean)
    # The survey's score (see survey.metrics.csi), kept when it completes so that reports
    # average 100k surveys instead of re-reading 1.2M answers.
    score: Mapped[float | None] = mapped_column(Float)
    # All answers in one string (survey.questionnaire.encode_answers), kept in step with
    # the answers table, so reports read 100k surveys instead of 1.2M answer rows.
    answer_codes: Mapped[str] = mapped_column(String(12), server_default="------------")
    # Set with the survey's case in the same transaction: a press looks the case up only
    # when there is one.
    has_case: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The one message whose buttons are live; presses on any other message are stale.
    chat_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    live_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    invited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when the invitation goes out: the survey closes (expires) unanswered after this.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Report facts, copied from the visit and the timestamps by the events below, so that
    # a period's figures are grouped passes over one covering index, with no join.
    visit_date: Mapped[date | None] = mapped_column(Date)
    advisor: Mapped[str | None] = mapped_column(String(200))
    completion_seconds: Mapped[float | None] = mapped_column(Float)
    # Answers other than "don't remember", and problem answers, among `answer_codes`.
    answered_count: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    problem_count: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    # The advisor's own ratings, 1-5 (questions 11 and 12), when given.
    friendliness: Mapped[int | None] = mapped_column(SmallInteger)
    responsiveness: Mapped[int | None] = mapped_column(SmallInteger)

    __table_args__ = (
        Index(
            "ix_surveys_report",
            "visit_date",
            "advisor",
            "status",
            "channel",
            "score",
            "completion_seconds",
            "invited_at",
            "started_at",
            "answered_count",
            "problem_count",
            "friendliness",
            "responsiveness",
            "answer_codes",
        ),
        # The median completion time: completed surveys in the order of their seconds.
        Index("ix_surveys_completion", "status", "completion_seconds", "visit_date"),
    )

    visit: Mapped[Visit] = relationship(
        lazy="joined",
        innerjoin="unnested",  # type: ignore[arg-type]  # see Visit.customer
    )
    # The survey's own answers are its `answer_codes`; the rows are an audit trail that
    # the press writes with one statement (storage.surveys) and nothing loads by accident.
    answers: Mapped[list[Answer]] = relationship(
        lazy="raise", passive_deletes=True, order_by="Answer.question"
    )


class Answer(Base):
    __tablename__ = "answers"

    survey_id: Mapped[int] = mapped_column(
        ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True
    )
    question: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    value: Mapped[str] = mapped_column(String(8))
    # Denormalised from the questionnaire so reports aggregate in SQL.
    score: Mapped[float | None] = mapped_column(Float)
    is_problem: Mapped[bool] = mapped_column(Boolean)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FsmRecord(Base):
    """aiogram FSM state and data, so a dialogue survives a restart."""

    __tablename__ = "fsm_records"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    state: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Case(Base):
    """An escalation: one per survey, opened by the first problem answer; or a customer's
    feedback (kind "feedback"): a message written at any time, with its topic, media and
    the customer's last visit when known."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(IntPK, primary_key=True)
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(10), default="survey", server_default="survey")
    topic: Mapped[str | None] = mapped_column(String(10))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    # Who wrote (feedback): their Telegram id and name.
    customer_user_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    customer_label: Mapped[str | None] = mapped_column(String(200))
    message: Mapped[str | None] = mapped_column(Text)
    # [{"type": "photo", "file_id": "...", "message_id": 12}, ...]
    media: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    severity: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(10), index=True)
    # Snapshot of what opened it: [{"question": 7, "value": "yes", "severity": "high"}, ...]
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Bumped on every change, so each alert message knows whether it shows the latest.
    version: Mapped[int] = mapped_column(Integer, default=1)
    assignee_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    assignee_name: Mapped[str | None] = mapped_column(String(200))
    cause: Mapped[str | None] = mapped_column(String(16))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    call_window: Mapped[str | None] = mapped_column(String(16))
    call_window_date: Mapped[date | None] = mapped_column(Date)
    topic_id: Mapped[int | None] = mapped_column(BigInteger)
    customer_confirmed: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    take_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    take_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolve_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    resolve_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    survey: Mapped[Survey | None] = relationship(lazy="joined")
    feedback_visit: Mapped[Visit | None] = relationship(lazy="joined")
    events: Mapped[list[CaseEvent]] = relationship(
        lazy="selectin", order_by="CaseEvent.id", cascade="all, delete-orphan"
    )

    @property
    def visit(self) -> Visit | None:
        """The visit the case is about: its survey's, or the one feedback was attached to."""
        return self.survey.visit if self.survey is not None else self.feedback_visit

    @property
    def customer_name(self) -> str:
        visit = self.visit
        if visit is not None and visit.customer.name:
            return visit.customer.name
        return self.customer_label or ""

    @property
    def customer_chat_id(self) -> int | None:
        """Where the customer reads the bot: their Telegram id."""
        if self.customer_user_id is not None:
            return self.customer_user_id
        visit = self.visit
        return visit.customer.telegram_user_id if visit is not None else None


class CaseEvent(Base):
    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(IntPK, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_name: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Delivery(Base):
    """A message the bot owes someone: saved first, sent (and retried) from here.

    kind "alert": the case's live card, rendered at send time and edited when the case
    changes; kind "notice": a fixed text (reminder, question to the customer).
    """

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(IntPK, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(8))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    thread_id: Mapped[int | None] = mapped_column(BigInteger)
    text: Mapped[str | None] = mapped_column(Text)
    reply_markup: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    rendered_version: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(8), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    case: Mapped[Case | None] = relationship()


class DigestWeek(Base):
    """A week whose report to management has been queued: claimed once, by one instance."""

    __tablename__ = "digests"

    week: Mapped[str] = mapped_column(String(10), primary_key=True)  # "2026-W47"
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StaffMember(Base):
    """Staff added in the bot by an admin, on top of ADMIN_IDS and MANAGER_IDS."""

    __tablename__ = "staff"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    role: Mapped[str] = mapped_column(String(8))
    added_by: Mapped[int | None] = mapped_column(BigInteger)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Send(Base):
    """A message to a customer about their survey: the invitation or the one reminder.

    Unique per survey and kind, so however many broadcasts overlap, a customer gets each
    message for a visit at most once.
    """

    __tablename__ = "sends"
    __table_args__ = (UniqueConstraint("survey_id", "kind"),)

    id: Mapped[int] = mapped_column(IntPK, primary_key=True)
    survey_id: Mapped[int] = mapped_column(
        ForeignKey("surveys.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(12))
    broadcast_id: Mapped[int | None] = mapped_column(ForeignKey("broadcasts.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(String(300))
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    survey: Mapped[Survey] = relationship(lazy="joined", innerjoin=True)


class Broadcast(Base):
    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(IntPK, primary_key=True)
    audience: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10), index=True)
    total: Mapped[int] = mapped_column(Integer, default=0)
    progress_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_shown_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BroadcastRecipient(Base):
    __tablename__ = "broadcast_recipients"

    broadcast_id: Mapped[int] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="CASCADE"), primary_key=True
    )
    send_id: Mapped[int] = mapped_column(
        ForeignKey("sends.id", ondelete="CASCADE"), primary_key=True
    )


class ProcessedUpdate(Base):
    """Update ids already handled: Telegram re-delivers a webhook it thinks failed."""

    __tablename__ = "processed_updates"

    bot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


# The report facts kept on each survey row are written by ORM events that live in
# storage/facts.py; imported here, last, so they are registered wherever the models are.
from storage.facts import answer_facts  # noqa: E402

__all__ = ["answer_facts"]
