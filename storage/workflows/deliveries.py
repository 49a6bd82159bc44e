"""The outbox's steps, each committed on its own: claim a due delivery (a short lease, so
two workers never send one message), then record what Telegram said."""

from __future__ import annotations

from datetime import datetime, timedelta

from storage.cases import DeliveryStatus
from storage.models import Delivery
from storage.uow import UnitOfWork


async def claim(
    db: UnitOfWork, delivery_id: int, now: datetime, lease: timedelta
) -> Delivery | None:
    """The delivery, now leased to this worker and counting one more attempt; None if
    another worker has it or it is no longer due."""
    if not await db.cases.claim_delivery(delivery_id, now, lease):
        return None
    await db.commit()
    delivery = await db.cases.get_delivery(delivery_id)
    if delivery is not None:
        delivery.attempts += 1
    return delivery


async def delivered(db: UnitOfWork, delivery: Delivery, now: datetime) -> None:
    """Sent (or edited): with it, whatever the send changed (message id, topic, history)."""
    delivery.status = DeliveryStatus.SENT
    delivery.sent_at = now
    delivery.last_error = None
    await db.commit()


async def not_delivered(
    db: UnitOfWork, delivery: Delivery, error: str, retry_at: datetime | None
) -> None:
    """Due again at `retry_at`, or failed for good when there is none."""
    delivery.last_error = error[:300]
    if retry_at is None:
        delivery.status = DeliveryStatus.FAILED
    else:
        delivery.next_attempt_at = retry_at
    await db.commit()
