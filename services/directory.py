"""Read access to the directory of municipalities, schools and host organisations."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Municipality, Organisation, School


async def municipalities(session: AsyncSession) -> Sequence[Municipality]:
    return (await session.scalars(select(Municipality).order_by(Municipality.name))).all()


async def schools_of(session: AsyncSession, municipality_id: int) -> Sequence[School]:
    query = select(School).where(School.municipality_id == municipality_id).order_by(School.name)
    return (await session.scalars(query)).all()


async def organisations_of(session: AsyncSession, municipality_id: int) -> Sequence[Organisation]:
    query = (
        select(Organisation)
        .where(Organisation.municipality_id == municipality_id)
        .order_by(Organisation.name)
    )
    return (await session.scalars(query)).all()


async def school_in(session: AsyncSession, school_id: int, municipality_id: int) -> School | None:
    """The school if it exists and belongs to the municipality (callback data is not trusted)."""
    school = await session.get(School, school_id)
    if school is None or school.municipality_id != municipality_id:
        return None
    return school


async def scope_choice(session: AsyncSession, value: str, municipality_id: int) -> tuple[bool, int | None]:
    """A scope button's value: "all" (the whole municipality) or the id of one of its schools.

    Returns (valid, school id or None for the whole municipality); forged values are not valid.
    """
    if value == "all":
        return True, None
    school = await school_in(session, int(value), municipality_id) if value.isdigit() else None
    return (school is not None), (school.id if school is not None else None)
