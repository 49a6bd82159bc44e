"""Feedback at any time: a customer's message outside a survey becomes a case (or, for
praise, a notice to the managers), in one commit with the alerts it owes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storage.cases import DeliveryStatus, apply_state
from storage.models import Case, Delivery
from storage.uow import UnitOfWork
from storage.workflows.staff import alert_chats
from survey import cases
from survey.feedback import becomes_case, severity
from survey.policy import Policies


async def receive(
    db: UnitOfWork,
    user_id: int,
    name: str,
    topic: str,
    text: str | None,
    media: list[dict[str, Any]],
    now: datetime,
    policies: Policies,
    praise_notice: Any,
) -> Case | None:
    """The case the message became (alerted like a survey's), or None for praise, which
    goes to the managers as a notice: `praise_notice(visit)` renders it."""
    visit = await db.visits.latest_of_user(user_id)
    chats = await alert_chats(db, policies.staffing)
    if not becomes_case(topic, policies.feedback):
        for chat_id in chats:
            db.cases.add_delivery(
                Delivery(
                    kind="notice",
                    chat_id=chat_id,
                    text=praise_notice(visit),
                    status=DeliveryStatus.PENDING,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
        await db.commit()
        return None
    case = Case(
        kind="feedback",
        topic=topic,
        severity=severity(topic),
        problems=[],
        feedback_visit=visit,
        customer_user_id=user_id,
        customer_label=name[:200],
        message=text,
        media=media or None,
        version=1,
        created_at=now,
        updated_at=now,
    )
    apply_state(case, cases.opened(now, policies.cases))
    db.cases.add(case)
    db.cases.record(case, "created", now, text=topic)
    for chat_id in chats:
        db.cases.queue(case, chat_id, now, kind="alert")
    await db.cases.refresh_lists(now)
    await db.commit()
    return case
