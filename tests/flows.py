"""Conversation steps shared by end-to-end tests: what a person does, through the emulator."""

from __future__ import annotations

from sandbox import SimUser

SCHOOL_A = "МБОУ «Гимназия № 1» г. Костромы"
SCHOOL_B = "МБОУ «Средняя общеобразовательная школа № 7» г. Костромы"
KOSTROMA = "город Кострома"
CHUKHLOMA = "Чухломский муниципальный район"


async def answered(user: SimUser, before: int, timeout: float = 5.0) -> None:
    """Wait until the bot has answered (a new message or an edit) after `before` messages."""
    await user.wait_messages(before + 1, timeout=timeout)


async def press_and_wait_edit(user: SimUser, label: str, timeout: float = 5.0) -> None:
    target = user.last
    assert target is not None, "no bot message to press on"
    edits = target.edit_count
    await user.press(label)
    await user.wait_for(
        lambda u: (
            any(m.message_id == target.message_id and m.edit_count > edits for m in u.bot_messages)
            or (len(u.bot_messages) > 0 and u.bot_messages[-1].message_id != target.message_id)
        ),
        timeout=timeout,
    )


async def subscribe(
    user: SimUser, role_label: str, school: str, grade: int | None, municipality: str = KOSTROMA
) -> None:
    """/start → consent → role → municipality → school → grade, all with buttons."""
    count = len(user.bot_messages)
    await user.send("/start")
    await user.wait_messages(count + 1)
    await press_and_wait_edit(user, "✅ Согласен(на)")
    await press_and_wait_edit(user, role_label)
    await press_and_wait_edit(user, municipality)
    await press_and_wait_edit(user, school)
    if grade is not None:
        await press_and_wait_edit(user, str(grade))
    await user.wait_for(lambda u: "Готово!" in (u.last.text if u.last else ""))


async def send_and_wait(user: SimUser, text: str, timeout: float = 5.0) -> str:
    """Send a message and return the text of the bot's next message."""
    count = len(user.bot_messages)
    await user.send(text)
    await user.wait_messages(count + 1, timeout=timeout)
    last = user.last
    assert last is not None
    return last.text or ""


async def publish_event(
    admin: SimUser,
    *,
    title: str,
    when: str,
    grades: str = "8–11",
    audience: str = "Ученики и родители",
    scope: str = "Все школы муниципалитета",
    municipality: str | None = KOSTROMA,
    kind: str = "День открытых дверей",
) -> str:
    """The coordinator's guided dialog from /new_event to «Опубликовать»; returns the confirmation text."""
    await send_and_wait(admin, "/new_event")
    if municipality is not None:
        await press_and_wait_edit(admin, municipality)
    await press_and_wait_edit(admin, kind)
    await send_and_wait(admin, title)
    await send_and_wait(admin, when)
    await press_and_wait_edit(admin, grades)
    await press_and_wait_edit(admin, audience)
    await press_and_wait_edit(admin, scope)
    await press_and_wait_edit(admin, "Пропустить")
    await press_and_wait_edit(admin, "📢 Опубликовать")
    last = admin.last
    assert last is not None
    return last.text or ""
