"""Coordinators of a whole region: an invitation for a region grants a coordinator role for each of its
municipalities (each grant audited); /stats and /export add those municipalities up; /new_event offers
the choice among them; and only an admin (or a region's coordinator) may invite one."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlalchemy import func, select

from models import Event, Invitation, Municipality, PupilCount, Role, RoleChange, User, UserRole
from tests.conftest import ADMIN_ID
from tests.dbcheck import rows, scalar
from tests.flows import CHUKHLOMA, KOSTROMA, press_and_wait_edit, publish_event, send_and_wait
from tests.flows_audience import create_invite, labels, open_invite
from tests.flows_reports import build, expected

REGION = "Костромская область"
REGION_BUTTON = "Координатор (регион)"
FUTURE = (datetime.now(ZoneInfo("Europe/Moscow")) + timedelta(days=10)).strftime("%d.%m.%Y") + " 11:00"


async def _munis(app) -> dict[str, int]:
    return {name: i for i, name in await rows(app, select(Municipality.id, Municipality.name))}


async def _coordinator_of(app, telegram_id: int) -> list[int | None]:
    query = (
        select(UserRole.municipality_id)
        .join(User, User.id == UserRole.user_id)
        .where(User.telegram_id == telegram_id, UserRole.role == Role.coordinator)
        .order_by(UserRole.municipality_id)
    )
    return [m for (m,) in await rows(app, query)]


async def _region_invite(admin) -> str:
    code = await create_invite(admin, role=REGION_BUTTON, municipality=REGION)
    return code


async def test_region_invitation_grants_every_municipality_with_audit(app, emulator):
    admin = emulator.user(ADMIN_ID, language_code="ru")
    await send_and_wait(admin, "/invite")
    assert REGION_BUTTON in labels(admin)
    await press_and_wait_edit(admin, REGION_BUTTON)
    assert "Для какого региона?" in admin.last.text
    assert labels(admin) == [REGION]
    await press_and_wait_edit(admin, REGION)
    await press_and_wait_edit(admin, "1")
    text = admin.last.text
    # The region and its municipalities (in the database's order of names: it differs between SQLite and
    # PostgreSQL collations).
    assert f"координатор: {REGION}: " in text and KOSTROMA in text and CHUKHLOMA in text
    code = text.split("?start=")[1].split()[0]
    invitation = (await rows(app, select(Invitation.id, Invitation.municipality_id, Invitation.region)))[0]
    assert invitation[1:] == (None, REGION)

    regional = emulator.user(5101, language_code="ru")
    welcome = await open_invite(regional, code)
    assert f"Теперь вы координатор: {REGION}: " in welcome and KOSTROMA in welcome and CHUKHLOMA in welcome
    munis = await _munis(app)
    assert await _coordinator_of(app, 5101) == sorted([munis[KOSTROMA], munis[CHUKHLOMA]])
    # One audit row per municipality, by the admin's invitation.
    user_id = await scalar(app, select(User.id).where(User.telegram_id == 5101))
    admin_id = await scalar(app, select(User.id).where(User.telegram_id == ADMIN_ID))
    audit = await rows(
        app,
        select(
            RoleChange.role,
            RoleChange.action,
            RoleChange.municipality_id,
            RoleChange.actor_id,
            RoleChange.invitation_id,
            RoleChange.source,
        )
        .where(RoleChange.user_id == user_id)
        .order_by(RoleChange.municipality_id),
    )
    assert audit == [
        (Role.coordinator, "grant", m, admin_id, invitation[0], "invitation")
        for m in sorted([munis[KOSTROMA], munis[CHUKHLOMA]])
    ]
    assert await scalar(app, select(Invitation.uses)) == 1
    # The same link again: already held, not used again.
    again = await _region_invite(admin)
    assert "У вас уже есть эта роль." in await open_invite(regional, again)
    assert await scalar(app, select(Invitation.uses).where(Invitation.code == again)) == 0
    # A region coordinator sees (and may revoke) the active links of their region.
    assert again in await send_and_wait(regional, "/invites")

    # /new_event: the choice between their two municipalities (not every municipality of the directory).
    await send_and_wait(regional, "/new_event")
    assert sorted(labels(regional)) == sorted([KOSTROMA, CHUKHLOMA])
    confirmation = await publish_event(
        regional, title="Ярмарка профессий в Чухломе", when=FUTURE, municipality=CHUKHLOMA
    )
    assert "опубликовано" in confirmation.lower(), confirmation
    assert (
        await scalar(app, select(Event.municipality_id).where(Event.title == "Ярмарка профессий в Чухломе"))
        == (munis[CHUKHLOMA])
    )

    # A region coordinator may invite a region coordinator for their own region, and teachers into
    # either municipality (the municipality question is limited to theirs).
    await send_and_wait(regional, "/invite")
    assert REGION_BUTTON in labels(regional)
    await press_and_wait_edit(regional, "Педагог (школа)")
    assert sorted(labels(regional)) == sorted([KOSTROMA, CHUKHLOMA])

    # /roles: their two municipalities' coordinators are listed one by one; the admin takes away one.
    roles_text = await send_and_wait(admin, "/roles")
    assert f"координатор: {KOSTROMA} — Telegram id 5101" in roles_text
    assert f"координатор: {CHUKHLOMA} — Telegram id 5101" in roles_text


async def test_municipal_coordinator_cannot_create_a_region_invitation(app, emulator):
    admin = emulator.user(ADMIN_ID, language_code="ru")
    code = await create_invite(admin, role="Координатор (муниципалитет)", municipality=KOSTROMA)
    local = emulator.user(5102, language_code="ru")
    assert "Теперь вы координатор: город Кострома" in await open_invite(local, code)
    before = await scalar(app, select(func.count()).select_from(Invitation))

    await send_and_wait(local, "/invite")
    # No region button for a municipal coordinator...
    assert labels(local) == ["Педагог (школа)", "Координатор (муниципалитет)"]
    # ...and a forged one is refused, with nothing asked next.
    message = local.last
    await local.press(data="iv:role:3", force=True)
    answer = await local.wait_callback_answer(timeout=10)
    assert "только координаторам" in answer.text
    assert local.last.message_id == message.message_id and local.last.edit_count == message.edit_count
    # A forged region and a forged «uses» step are refused as well.
    munis = await _munis(app)
    await local.press(data=f"iv:region:{munis[KOSTROMA]}", force=True)
    assert "недействительна" in (await local.wait_callback_answer(timeout=10)).text
    await local.press(data="iv:uses:1", force=True)
    assert "недействительна" in (await local.wait_callback_answer(timeout=10)).text
    # Choosing a municipal coordinator of another municipality is refused too.
    await press_and_wait_edit(local, "Координатор (муниципалитет)")
    assert labels(local) == ["1", "5", "30"]  # their one municipality: no question
    await local.press(data=f"iv:muni:{munis[CHUKHLOMA]}", force=True)
    assert "только координаторам" in (await local.wait_callback_answer(timeout=10)).text
    assert await scalar(app, select(func.count()).select_from(Invitation)) == before
    assert await _coordinator_of(app, 5102) == [munis[KOSTROMA]]
    # An admin's region invitation is neither listed to the municipal coordinator nor revocable by them.
    region_code = await _region_invite(admin)
    region_id = await scalar(app, select(Invitation.id).where(Invitation.code == region_code))
    assert region_code not in await send_and_wait(local, "/invites")
    await local.press(data=f"iv:revoke:{region_id}", force=True)
    assert "только координаторам" in (await local.wait_callback_answer(timeout=10)).text
    assert await scalar(app, select(Invitation.revoked_at).where(Invitation.id == region_id)) is None
    assert region_code in await send_and_wait(admin, "/invites")


async def test_region_stats_add_up_the_municipalities_and_export_names_the_region(app, emulator):
    async with app.sessions.begin() as session:
        ds = await build(session)
        consent = datetime(2025, 9, 1, tzinfo=UTC)
        people = {
            6101: [ds.municipality_id],
            6102: [ds.other_municipality_id],
            6103: [ds.municipality_id, ds.other_municipality_id],
        }
        for telegram_id, municipalities in people.items():
            user = User(telegram_id=telegram_id, language="ru", consent_at=consent)
            session.add(user)
            await session.flush()
            for m in municipalities:
                session.add(UserRole(user_id=user.id, role=Role.coordinator, municipality_id=m))
    schools_of = {
        m: {s for s, sm in ds.school_muni.items() if sm == m}
        for m in (ds.municipality_id, ds.other_municipality_id)
    }
    kostroma = expected(ds, schools_of[ds.municipality_id], ds.municipality_id)
    chukhloma = expected(ds, schools_of[ds.other_municipality_id], ds.other_municipality_id)
    region = expected(ds, set(ds.school_muni), None)  # the seeded directory is the one region
    assert kostroma.unique and chukhloma.unique, "both municipalities have participants"
    assert region.unique == kostroma.unique + chukhloma.unique
    assert region.signups == kostroma.signups + chukhloma.signups

    texts = {}
    for telegram_id in people:
        user = emulator.user(telegram_id, language_code="ru")
        texts[telegram_id] = await send_and_wait(user, "/stats 2025/2026", timeout=20)
    assert "Отчёт об участии: город Кострома" in texts[6101]
    assert f"Отчёт об участии: {CHUKHLOMA}" in texts[6102]
    assert f"Отчёт об участии: {REGION}" in texts[6103]
    for telegram_id, exp in ((6101, kostroma), (6102, chukhloma), (6103, region)):
        text = texts[telegram_id]
        assert f"Уникальных участников-учеников: {exp.unique}, из них с ОВЗ: {exp.ovz}" in text, telegram_id
        assert f"Записались («Пойду»): {exp.signups}" in text, telegram_id
        assert f"Мероприятий за период: {sum(exp.events_by_kind.values())}" in text, telegram_id

    regional = emulator.user(6103, language_code="ru")
    documents = sum(m.document is not None for m in regional.bot_messages)
    await regional.send("/export 2025/2026")
    await regional.wait_for(
        lambda u: sum(m.document is not None for m in u.bot_messages) > documents, timeout=20
    )
    data = next(m.document for m in reversed(regional.bot_messages) if m.document is not None)
    book = load_workbook(io.BytesIO(bytes(data.data)))
    header = [str(row[0]) for row in book["Сводка"].iter_rows(values_only=True, max_row=2)]
    assert header[1] == f"Муниципалитет / школа: {REGION}"
    summary = {r[0]: (r[1], r[2]) for r in book["Сводка"].iter_rows(values_only=True, min_row=7)}
    assert summary["Уникальных участников-учеников"][0] == region.unique
    schools = {r[0] for r in book["Охват по школам"].iter_rows(values_only=True, min_row=7)}
    assert schools == {ds.school_names[s] for s in ds.school_muni}


async def test_region_coordinator_imports_pupil_counts_only_into_their_municipalities(app, emulator):
    admin = emulator.user(ADMIN_ID, language_code="ru")
    # Another region's municipality and school, loaded by the admin.
    other = "Регион;Муниципалитет;Тип;Название\nСтавропольский край;город Невинномысск;школа;МБОУ СОШ № 3\n"
    await send_and_wait(admin, "/import")
    await press_and_wait_edit(admin, "🏫 Справочник: школы и организации")
    count = len(admin.bot_messages)
    await admin.send_document("d.csv", other.encode())
    await admin.wait_messages(count + 1, timeout=15)
    regional = emulator.user(5103, language_code="ru")
    await open_invite(regional, await _region_invite(admin))
    assert len(await _coordinator_of(app, 5103)) == 2  # not the other region's municipality

    async def send(data: str) -> str:
        await send_and_wait(regional, "/import")
        await press_and_wait_edit(regional, "👥 Численность учащихся по классам")
        count = len(regional.bot_messages)
        await regional.send_document("p.csv", data.encode())
        await regional.wait_messages(count + 1, timeout=15)
        return regional.last.text or ""

    head = "Муниципалитет;Школа;Класс;Учеников\n"
    outside = await send(head + "город Невинномысск;МБОУ СОШ № 3;9;40\n")
    assert "«город Невинномысск» — не ваш муниципалитет" in outside
    assert await scalar(app, select(func.count()).select_from(PupilCount)) == 0
    both = await send(
        head
        + f"{KOSTROMA};МБОУ «Гимназия № 1» г. Костромы;9;50\n{CHUKHLOMA};МОУ Чухломская средняя школа;9;20\n"
    )
    assert both == "Загружено: численность учащихся для 2 параллелей.", both
    assert await scalar(app, select(func.count()).select_from(PupilCount)) == 2


async def test_region_coordinator_chooses_only_among_their_municipalities(app, emulator):
    """/new_event, /plan and /broadcast offer their two municipalities, not another region's; forged
    buttons of another region's municipality are refused; /roles takes their roles away one by one."""
    admin = emulator.user(ADMIN_ID, language_code="ru")
    other = "Регион;Муниципалитет;Тип;Название\nСтавропольский край;город Невинномысск;школа;МБОУ СОШ № 3\n"
    await send_and_wait(admin, "/import")
    await press_and_wait_edit(admin, "🏫 Справочник: школы и организации")
    count = len(admin.bot_messages)
    await admin.send_document("d.csv", other.encode())
    await admin.wait_messages(count + 1, timeout=15)
    munis = await _munis(app)
    assert "город Невинномысск" in munis
    # The admin's region list has both regions; the region coordinator's only their own.
    await send_and_wait(admin, "/invite")
    await press_and_wait_edit(admin, REGION_BUTTON)
    assert sorted(labels(admin)) == sorted([REGION, "Ставропольский край"])
    regional = emulator.user(5104, language_code="ru")
    await open_invite(regional, await _region_invite(admin))
    await send_and_wait(regional, "/invite")
    await press_and_wait_edit(regional, REGION_BUTTON)
    assert labels(regional) == [REGION]
    await regional.press(data=f"iv:region:{munis['город Невинномысск']}", force=True)
    assert "только координаторам" in (await regional.wait_callback_answer(timeout=10)).text

    forged = {
        "/new_event": f"ne:mun:{munis['город Невинномысск']}",
        "/plan": f"pl:imp_mun:{munis['город Невинномысск']}",
        "/broadcast": f"bs:mun:{munis['город Невинномысск']}",
    }
    for command, data in forged.items():
        await send_and_wait(regional, command)
        assert sorted(labels(regional)) == sorted([KOSTROMA, CHUKHLOMA]), command
        await regional.press(data=data, force=True)
        assert "недействительна" in (await regional.wait_callback_answer(timeout=10)).text, command
    documents = sum(m.document is not None for m in regional.bot_messages)
    await press_and_wait_edit(regional, CHUKHLOMA)  # the /broadcast chooser still works
    assert sum(m.document is not None for m in regional.bot_messages) == documents  # no plan template

    # /roles: the admin takes away the Chukhloma role only; Kostroma stays, and /stats narrows to it.
    text = await send_and_wait(admin, "/roles")
    line = next(x for x in text.splitlines() if f"координатор: {CHUKHLOMA} — Telegram id 5104" in x)
    await press_and_wait_edit(admin, f"Снять №{line.split('.')[0]}")
    await press_and_wait_edit(admin, "Да, снять роль")
    assert await _coordinator_of(app, 5104) == [munis[KOSTROMA]]
    assert "Отчёт об участии: город Кострома" in await send_and_wait(regional, "/stats", timeout=20)
