"""Read access to the directory of municipalities, schools and host organisations."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Municipality, Organisation, School


async def municipalities(
    session: AsyncSession, only: Collection[int] | None = None
) -> Sequence[Municipality]:
    """Every municipality by name, or only those of `only` (a coordinator's own; None: all of them)."""
    query = select(Municipality).order_by(Municipality.name)
    if only is not None:
        query = query.where(Municipality.id.in_(list(only)))
    return (await session.scalars(query)).all()


async def region_municipalities(session: AsyncSession, region: str) -> Sequence[Municipality]:
    """The municipalities of a region (`Municipality.region`), by name."""
    query = select(Municipality).where(Municipality.region == region).order_by(Municipality.name)
    return (await session.scalars(query)).all()


async def whole_regions(session: AsyncSession, only: Collection[int] | None = None) -> list[Municipality]:
    """One municipality (the first by name) standing for each region all of whose municipalities are in
    `only` (None: every region), by region name: the choices of a region invitation."""
    every = (
        await session.scalars(select(Municipality).order_by(Municipality.region, Municipality.name))
    ).all()
    regions: dict[str, list[Municipality]] = {}
    for muni in every:
        regions.setdefault(muni.region, []).append(muni)
    return [munis[0] for munis in regions.values() if only is None or all(m.id in only for m in munis)]


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
