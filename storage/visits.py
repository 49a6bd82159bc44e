"""Visits and customers as imported from the dealer's visit list."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from storage.models import Customer, Survey, Visit
from storage.surveys import new_token
from survey.dialogue import SurveyStatus
from survey.questionnaire import encode_answers
from survey.visit_import import VisitRecord

# Keeps every IN (...) well below SQLite's bound-parameter limit.
_CHUNK = 500
_Row = TypeVar("_Row", Customer, Visit)


@dataclass(frozen=True, slots=True)
class ImportCounts:
    created: int
    updated: int
    new_surveys: tuple[Survey, ...] = ()


class VisitRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def import_records(self, records: Sequence[VisitRecord], now: datetime) -> ImportCounts:
        """Insert new visits (each with a survey waiting to be answered), update known ones."""
        customers = {
            c.phone: c
            for c in await self._load(Customer, Customer.phone, {r.phone for r in records})
        }
        visits = {
            v.order_no: v
            for v in await self._load(Visit, Visit.order_no, {r.order_no for r in records})
        }
        created = updated = 0
        new_surveys: list[Survey] = []
        for record in records:
            customer = customers.get(record.phone)
            if customer is None:
                customer = Customer(phone=record.phone, created_at=now)
                self._session.add(customer)
                customers[record.phone] = customer
            customer.name = record.customer_name
            if record.telegram_user_id is not None:
                customer.telegram_user_id = record.telegram_user_id
            customer.updated_at = now

            visit = visits.get(record.order_no)
            if visit is None:
                visit = Visit(order_no=record.order_no, created_at=now)
                self._session.add(visit)
                visits[record.order_no] = visit
                survey = Survey(
                    visit=visit,
                    token=new_token(),
                    status=SurveyStatus.INVITED,
                    step=1,
                    answer_codes=encode_answers({}),
                    created_at=now,
                    updated_at=now,
                )
                self._session.add(survey)
                new_surveys.append(survey)
                created += 1
            else:
                updated += 1
            visit.visit_date = record.visit_date
            visit.car = record.car
            visit.advisor = record.advisor
            visit.customer = customer
            visit.updated_at = now
        await self._session.flush()
        return ImportCounts(created=created, updated=updated, new_surveys=tuple(new_surveys))

    async def customer_by_phone(self, phone: str) -> Customer | None:
        return await self._session.scalar(
            select(Customer).where(Customer.phone == phone, Customer.erased_at.is_(None))
        )

    async def customers_of(self, telegram_user_id: int) -> Sequence[Customer]:
        return (
            await self._session.scalars(
                select(Customer)
                .where(Customer.telegram_user_id == telegram_user_id, Customer.erased_at.is_(None))
                .order_by(Customer.id)
            )
        ).all()

    async def latest_of_user(self, telegram_user_id: int) -> Visit | None:
        """The most recent visit of the customer(s) behind this Telegram account."""
        return await self._session.scalar(
            select(Visit)
            .join(Visit.customer)
            .where(Customer.telegram_user_id == telegram_user_id, Customer.erased_at.is_(None))
            .order_by(Visit.visit_date.desc(), Visit.id.desc())
            .limit(1)
        )

    async def _load(
        self, model: type[_Row], column: InstrumentedAttribute[Any], keys: Iterable[str]
    ) -> list[_Row]:
        ordered = sorted(keys)
        found: list[_Row] = []
        for start in range(0, len(ordered), _CHUNK):
            query = select(model).where(column.in_(ordered[start : start + _CHUNK]))
            found.extend((await self._session.scalars(query)).all())
        return found
