"""Broadcasts end to end through the emulator, in Russian (and English for an English-speaking parent)."""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import func, select

from models import Broadcast, BroadcastStatus, Outbox, OutboxStatus, Role, User
from tests.conftest import ADMIN_ID
from tests.dbcheck import outbox_drained, rows, scalar
from tests.flows import CHUKHLOMA, KOSTROMA, SCHOOL_A, SCHOOL_B, press_and_wait_edit, send_and_wait
from tests.flows_broadcasts import add_person, compose, running_app
from tests.sandbox.test_emulator_api import png

HEADING = "📢 Объявление"


async def until(app, query, expected, timeout: float = 10.0) -> None:
    """Wait until the database says `expected` (the bot handles updates asynchronously)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while await scalar(app, query) != expected:
        assert asyncio.get_running_loop().time() < deadline, f"{query} never became {expected!r}"
        await asyncio.sleep(0.05)


def received(user) -> list[str]:
    return [
        m.content or ""
        for m in user.bot_messages
        if HEADING in (m.content or "") or "Announcement" in (m.content or "")
    ]


async def test_teacher_sends_to_parents_of_their_classes_with_acknowledgement(app, emulator):
    teacher = await add_person(app, emulator, 3001, Role.teacher, SCHOOL_A, classes=(9,))
    parent9 = await add_person(app, emulator, 3002, Role.parent, SCHOOL_A, 9)
    parent9_en = await add_person(app, emulator, 3003, Role.parent, SCHOOL_A, 9, language="en")
    parent10 = await add_person(app, emulator, 3004, Role.parent, SCHOOL_A, 10)  # not their class
    pupil9 = await add_person(app, emulator, 3005, Role.student, SCHOOL_A, 9)  # parents only
    other_school = await add_person(app, emulator, 3006, Role.parent, SCHOOL_B, 9)

    summary = await compose(teacher, ["Мои классы (9)", "Родители"], "Собрание в пятницу в 18:00", ack=True)
    assert "Получателей: 2" in summary
    assert "родители ваших классов (классы: 9)" in summary
    preview = teacher.bot_messages[-2]
    assert "Собрание в пятницу в 18:00" in (preview.text or "")
    assert preview.button_labels == ["✅ Ознакомлен(а)"]

    report_id = teacher.last.message_id
    await teacher.press("📤 Отправить")
    await parent9.wait_for(lambda u: bool(received(u)), timeout=10)
    await parent9_en.wait_for(lambda u: bool(received(u)), timeout=10)
    assert received(parent9) == [f"{HEADING}\n\nСобрание в пятницу в 18:00"]
    assert parent9.last.button_labels == ["✅ Ознакомлен(а)"]
    assert "📢 Announcement" in (parent9_en.last.text or "")
    assert parent9_en.last.button_labels == ["✅ I have read it"]
    await outbox_drained(app)
    for user in (parent10, pupil9, other_school):
        assert received(user) == []

    await teacher.wait_for(lambda u: "Завершена" in (u.bot_messages[-1].text or ""), timeout=10)
    final = teacher.bot_messages[-1].text or ""  # the final report arrives as a new message
    assert "Рассылка №1 — Завершена." in final
    assert "Доставлено: 2" in final and "Ожидают отправки: 0" in final and "Ознакомились: 0" in final

    await parent9.press("✅ Ознакомлен(а)")
    answer = await parent9.wait_callback_answer(timeout=10)
    assert "Спасибо" in (answer.text or "")
    acked = await scalar(app, select(func.count()).where(Outbox.acknowledged_at.is_not(None)))
    assert acked == 1
    await teacher.wait_for(
        lambda u: any(
            "Ознакомились: 1" in (m.text or "") for m in u.bot_messages if m.message_id == report_id
        ),
        timeout=10,
    )


async def test_coordinator_filters_by_role_grade_and_school(app, emulator):
    admin = emulator.user(ADMIN_ID, language_code="ru")
    await admin.send("/start")
    await admin.wait_messages(1, timeout=10)
    teacher_a = await add_person(app, emulator, 3101, Role.teacher, SCHOOL_A)
    teacher_b = await add_person(app, emulator, 3102, Role.teacher, SCHOOL_B)
    pupil = await add_person(app, emulator, 3103, Role.student, SCHOOL_A, 10)
    chukhloma_teacher = await add_person(app, emulator, 3104, Role.teacher, "МОУ Чухломская средняя школа")

    summary = await compose(
        admin, [KOSTROMA, "Педагоги", "Все классы", SCHOOL_A], "<b>Семинар</b> для педагогов", ack=False
    )
    assert "Получателей: 1" in summary
    await admin.press("📤 Отправить")
    await teacher_a.wait_for(lambda u: bool(received(u)), timeout=10)
    # Typed tags are the author's text, not formatting: shown literally, never parsed as HTML.
    assert received(teacher_a) == [f"{HEADING}\n\n<b>Семинар</b> для педагогов"]
    assert teacher_a.last.buttons == []
    await outbox_drained(app)
    assert received(teacher_b) == [] and received(pupil) == [] and received(chukhloma_teacher) == []

    # Everybody of every school of Chukhloma: the Chukhloma teacher only.
    summary = await compose(
        admin, [CHUKHLOMA, "Все", "Все классы", "Все школы муниципалитета"], "Ярмарка", ack=False
    )
    assert "Получателей: 1" in summary


async def test_faults_blocked_and_never_started_users_are_counted_right(emulator, database_url):
    async with running_app(emulator, database_url, OUTBOX_RATE=100.0) as app:
        app.delivery.backoff = 0.05
        app.delivery.request_timeout = 1.0
        admin = await add_person(app, emulator, 3200, Role.coordinator, municipality=KOSTROMA)
        ok = [await add_person(app, emulator, 3210 + i, Role.parent, SCHOOL_B, 7) for i in range(12)]
        blocked = [await add_person(app, emulator, 3230 + i, Role.parent, SCHOOL_B, 7) for i in range(3)]
        never = [
            await add_person(app, emulator, 3240 + i, Role.parent, SCHOOL_B, 7, started=False)
            for i in range(2)
        ]
        known = await add_person(app, emulator, 3250, Role.parent, SCHOOL_B, 7)
        known.block()  # the bot is told (my_chat_member) and leaves them out of the audience
        await until(app, select(User.is_active).where(User.telegram_id == 3250), False)
        blocked[0].blocked = True  # blocked while the bot was away: it learns from the 403
        blocked[1].blocked = True
        blocked[2].deactivate()  # a deleted account: 403 "user is deactivated"
        await admin.send("/start")
        await admin.wait_messages(1, timeout=10)
        summary = await compose(admin, ["Родители", "5–9", SCHOOL_B], "Родительское собрание", ack=False)
        assert "Получателей: 17" in summary
        emulator.set_faults(
            method="sendMessage",
            seed=7,
            error_rate=0.2,
            error_status=502,
            reset_rate=0.1,
            force_429=3,
            retry_after=1,
        )
        await admin.press("📤 Отправить")
        await until(app, select(Broadcast.status), BroadcastStatus.done, timeout=60)
        await outbox_drained(app, timeout=60)
        emulator.clear_faults()
        assert emulator.counters.too_many_requests >= 3
        assert emulator.counters.by_status.get(502, 0) > 0 and emulator.counters.by_status.get(0, 0) > 0
        for user in ok:
            assert len(received(user)) == 1, user.dump()
        counts = emulator.counters.delivered_by_chat
        assert all(counts.get(u.id, 0) == 1 for u in ok)
        assert all(counts.get(u.id, 0) == 0 for u in blocked + never)
        await admin.wait_for(lambda u: "Завершена" in (u.bot_messages[-1].text or ""), timeout=20)
        final = admin.bot_messages[-1].text or ""
        assert "Доставлено: 12" in final
        assert "Заблокировали бота или не запускали его: 5" in final
        assert "Не доставлено из-за ошибки: 0" in final
        inactive = await rows(
            app, select(User.telegram_id).where(User.is_active.is_(False)).order_by(User.telegram_id)
        )
        assert [r[0] for r in inactive] == [u.id for u in blocked + never] + [3250]


async def test_stop_before_everything_is_sent(emulator, database_url):
    async with running_app(emulator, database_url, OUTBOX_RATE=2.0) as app:
        teacher = await add_person(app, emulator, 3301, Role.teacher, SCHOOL_A)
        pupils = [await add_person(app, emulator, 3310 + i, Role.student, SCHOOL_A, 8) for i in range(20)]
        await compose(teacher, ["Вся школа", "Ученики"], "Экскурсия отменяется", ack=False)
        await teacher.press("📤 Отправить")
        await teacher.wait_for(lambda u: "⛔ Остановить рассылку" in u.last.button_labels, timeout=10)
        await teacher.press("⛔ Остановить рассылку")
        answer = await teacher.wait_callback_answer(timeout=10)
        assert "Рассылка остановлена" in (answer.text or "")
        await outbox_drained(app, timeout=20)
        status = await scalar(app, select(Broadcast.status))
        assert status is BroadcastStatus.cancelled
        sent = await scalar(app, select(func.count()).where(Outbox.status == OutboxStatus.sent))
        stopped = await scalar(
            app, select(func.count()).where(Outbox.last_error.in_(["cancelled", "obsolete"]))
        )
        assert sent + stopped == 20 and stopped > 0
        # Every row recorded as sent reached its pupil once; a stopped one reached nobody.
        reached = [emulator.counters.delivered_by_chat.get(p.id, 0) for p in pupils]
        assert sorted(reached) == [0] * stopped + [1] * sent
        assert sum(len(received(p)) for p in pupils) == sent
        # The report catches up with rows that were already claimed when the author stopped it.
        await teacher.wait_for(
            lambda u: (
                "Остановлена автором" in (u.bot_messages[-1].text or "")
                and f"Не отправлено (остановлено): {stopped}" in (u.bot_messages[-1].text or "")
                and "Ожидают отправки: 0" in (u.bot_messages[-1].text or "")
            ),
            timeout=10,
        )


async def test_parent_cannot_broadcast_and_forged_buttons_change_nothing(app, emulator):
    parent = await add_person(app, emulator, 3401, Role.parent, SCHOOL_A, 9)
    teacher = await add_person(app, emulator, 3402, Role.teacher, SCHOOL_A)
    intruder = await add_person(app, emulator, 3403, Role.teacher, SCHOOL_B)
    await parent.send("/broadcast")
    await parent.wait_messages(1, timeout=10)
    await parent.wait_for(lambda u: "только педагогам и координаторам" in (u.last.text or ""), timeout=10)

    summary = await compose(teacher, ["Вся школа", "Ученики и родители"], "Важно", ack=False)
    assert "Получателей: 1" in summary
    draft_id = await scalar(app, select(Broadcast.id))
    # Another school's teacher and a parent try to send the draft with forged button data.
    for user in (intruder, parent):
        await user.press(data=f"bc:send:{draft_id}", force=True)
        answer = await user.wait_callback_answer(timeout=10)
        assert answer.show_alert
    # A teacher forging a "teachers of the municipality" choice is refused.
    await send_and_wait_ok(intruder)
    await intruder.press(data="bs:roles:t", force=True)
    answer = await intruder.wait_callback_answer(timeout=10)
    assert "недействительна" in (answer.text or "")
    assert await scalar(app, select(func.count()).select_from(Outbox)) == 0
    assert await scalar(app, select(Broadcast.status)) is BroadcastStatus.draft


async def send_and_wait_ok(user) -> None:
    count = len(user.bot_messages)
    await user.send("/broadcast")
    await user.wait_messages(count + 1, timeout=10)
    await user.press("Вся школа")
    await user.wait_for(lambda u: "Кто получит" in (u.last.text or ""), timeout=10)


async def test_wrong_input_in_the_dialog_is_answered_politely(app, emulator):
    teacher = await add_person(app, emulator, 3501, Role.teacher, SCHOOL_A)
    await teacher.send("/broadcast")
    await teacher.wait_messages(1, timeout=10)
    await teacher.send("привет")
    await teacher.wait_for(lambda u: "выберите вариант кнопкой" in (u.last.text or ""), timeout=10)
    await teacher.press("Вся школа")
    await teacher.wait_for(lambda u: "Кто получит" in (u.bot_messages[0].text or ""), timeout=10)
    await teacher.press("Родители")
    await teacher.wait_for(lambda u: "текст объявления" in (u.bot_messages[0].text or ""), timeout=10)
    count = len(teacher.bot_messages)
    await teacher.send("я" * 3600)
    await teacher.wait_messages(count + 1, timeout=10)
    assert "слишком длинное" in (teacher.last.text or "")
    assert await scalar(app, select(func.count()).select_from(Broadcast)) == 0


async def test_a_document_with_a_caption_reaches_the_whole_school(app, emulator):
    teacher = await add_person(app, emulator, 3601, Role.teacher, SCHOOL_A)
    pupil = await add_person(app, emulator, 3602, Role.student, SCHOOL_A, 5)
    parent = await add_person(app, emulator, 3603, Role.parent, SCHOOL_A, 11)
    await send_and_wait(teacher, "/broadcast", timeout=10)
    await press_and_wait_edit(teacher, "Вся школа", timeout=10)
    await press_and_wait_edit(teacher, "Ученики и родители", timeout=10)
    count = len(teacher.bot_messages)
    await teacher.send_document(
        "plan.pdf", b"%PDF-1.4 plan", mime_type="application/pdf", caption="План недели"
    )
    await teacher.wait_messages(count + 1, timeout=10)
    await teacher.press("Нет")
    await teacher.wait_for(lambda u: "Получателей: 2" in (u.last.text or ""), timeout=10)
    preview = teacher.bot_messages[-2]
    assert preview.document is not None and preview.document.file_name == "plan.pdf"
    await teacher.press("📤 Отправить")
    for user in (pupil, parent):
        await user.wait_for(lambda u: any(m.document is not None for m in u.bot_messages), timeout=10)
        message = user.bot_messages[-1]
        assert message.caption == f"{HEADING}\n\nПлан недели"
        assert message.document is not None and message.document.data == b"%PDF-1.4 plan"


def utf16_slice(text: str, offset: int, length: int) -> str:
    """The part of `text` an entity covers (Telegram counts offsets in UTF-16 code units)."""
    return text.encode("utf-16-le")[offset * 2 : (offset + length) * 2].decode("utf-16-le")


def formatted(message) -> list[tuple[str, str]]:
    """(entity type, covered text) of a message's text or caption, for comparing formatting."""
    return [(e["type"], utf16_slice(message.content, e["offset"], e["length"])) for e in message.entities]


async def test_bold_italic_and_a_link_arrive_as_the_author_wrote_them(app, emulator):
    teacher = await add_person(app, emulator, 3701, Role.teacher, SCHOOL_A, classes=(9,))
    parent = await add_person(app, emulator, 3702, Role.parent, SCHOOL_A, 9)
    # "🎓 " is three UTF-16 code units: offsets after the emoji are counted in code units.
    text = "🎓 Собрание в пятницу, подробности на сайте. <i>не тег</i>"
    entities = [
        {"type": "bold", "offset": 3, "length": 8},
        {"type": "italic", "offset": 14, "length": 7},
        {"type": "text_link", "offset": 38, "length": 5, "url": "https://school.example/news?a=1&b=2"},
    ]
    summary = await compose(teacher, ["Мои классы (9)", "Родители"], text, ack=False, entities=entities)
    assert "Получателей: 1" in summary
    preview = teacher.bot_messages[-2]
    await teacher.press("📤 Отправить")
    await parent.wait_for(lambda u: bool(received(u)), timeout=10)
    message = parent.bot_messages[-1]
    assert message.text == f"{HEADING}\n\n{text}"
    expected = [
        ("bold", "Объявление"),
        ("bold", "Собрание"),
        ("italic", "пятницу"),
        ("text_link", "сайте"),
    ]
    assert formatted(message) == expected
    link = next(e for e in message.entities if e["type"] == "text_link")
    assert link["url"] == "https://school.example/news?a=1&b=2"
    assert message.html == (
        "📢 <b>Объявление</b>\n\n🎓 <b>Собрание</b> в <i>пятницу</i>, подробности на "
        '<a href="https://school.example/news?a=1&amp;b=2">сайте</a>. &lt;i&gt;не тег&lt;/i&gt;'
    )
    assert (preview.text, preview.html) == (message.text, message.html)  # the preview is what they get


async def test_a_photo_with_a_formatted_caption_reaches_parents(app, emulator):
    teacher = await add_person(app, emulator, 3801, Role.teacher, SCHOOL_A, classes=(9,))
    parents = [await add_person(app, emulator, 3802 + i, Role.parent, SCHOOL_A, 9) for i in range(2)]
    pupil = await add_person(app, emulator, 3804, Role.student, SCHOOL_A, 9)
    image = png(800, 600)
    await send_and_wait(teacher, "/broadcast", timeout=10)
    await press_and_wait_edit(teacher, "Мои классы (9)", timeout=10)
    await press_and_wait_edit(teacher, "Родители", timeout=10)

    # Over the bot's 900 (Telegram would take up to 1024 from a user): refused, nothing changes.
    count = len(teacher.bot_messages)
    await teacher.send_photo(image, caption="я" * 950)
    await teacher.wait_messages(count + 1, timeout=10)
    assert "слишком длинное" in (teacher.last.text or "") and "900" in (teacher.last.text or "")
    assert await scalar(app, select(func.count()).select_from(Broadcast)) == 0

    caption = "Ярмарка профессий в субботу в 10:00"
    count = len(teacher.bot_messages)
    await teacher.send_photo(
        image, caption=caption, caption_entities=[{"type": "bold", "offset": 0, "length": 17}]
    )
    await teacher.wait_messages(count + 1, timeout=10)  # still composing: the photo is taken
    assert "Ознакомлен(а)" in (teacher.last.text or "")
    await teacher.press("Нет")
    await teacher.wait_for(lambda u: "Получателей: 2" in (u.last.text or ""), timeout=10)
    preview = teacher.bot_messages[-2]
    assert preview.photo is not None and preview.photo.data == image
    assert preview.caption == f"{HEADING}\n\n{caption}"
    assert await scalar(app, select(Broadcast.media_kind)) == "photo"

    await teacher.press("📤 Отправить")
    for parent in parents:
        await parent.wait_for(lambda u: any(m.photo is not None for m in u.bot_messages), timeout=10)
        message = parent.bot_messages[-1]
        assert message.text is None and message.caption == f"{HEADING}\n\n{caption}"
        assert formatted(message) == [("bold", "Объявление"), ("bold", "Ярмарка профессий")]
        assert message.photo is not None and message.photo.data == image
        size = message.raw["photo"][-1]
        assert (size["width"], size["height"], size["file_size"]) == (800, 600, len(image))
        assert message.photo.file_id == preview.photo.file_id  # sent on by file_id, not uploaded again
    await outbox_drained(app)
    assert received(pupil) == []
    await teacher.wait_for(lambda u: "Завершена" in (u.bot_messages[-1].text or ""), timeout=10)
    assert "Доставлено: 2" in (teacher.bot_messages[-1].text or "")


async def test_cancel_on_the_preview_sends_nothing(app, emulator):
    teacher = await add_person(app, emulator, 3901, Role.teacher, SCHOOL_A)
    pupils = [await add_person(app, emulator, 3902 + i, Role.student, SCHOOL_A, 7) for i in range(3)]
    summary = await compose(teacher, ["Вся школа", "Ученики"], "Экскурсия в колледж", ack=True)
    assert "Получателей: 3" in summary
    summary_id = teacher.last.message_id
    await press_and_wait_edit(teacher, "Отменить", timeout=10)
    dropped = next(m for m in teacher.bot_messages if m.message_id == summary_id)
    assert dropped.text == "Отменено. Ничего не отправлено." and dropped.buttons == []
    broadcast_id = await scalar(app, select(Broadcast.id))
    assert await scalar(app, select(Broadcast.status)) is BroadcastStatus.cancelled
    # Pressing «Отправить» of the dropped draft anyway (the button is gone: forged data) is refused.
    await teacher.press(data=f"bc:send:{broadcast_id}", force=True, message_id=summary_id)
    answer = await teacher.wait_callback_answer(timeout=10)
    assert answer.show_alert and "уже отправлена или отменена" in (answer.text or "")
    await asyncio.sleep(1.0)  # several runs of the delivery job
    assert await scalar(app, select(func.count()).select_from(Outbox)) == 0
    assert set(emulator.counters.delivered_by_chat) == {teacher.id}  # only the author got anything
    for pupil in pupils:
        assert pupil.bot_messages == []
    assert await scalar(app, select(Broadcast.status)) is BroadcastStatus.cancelled


def report_numbers(text: str) -> dict[str, int]:
    """The figures of a delivery report in Russian."""
    labels = {
        "total": "Получателей",
        "delivered": "Доставлено",
        "blocked": "Заблокировали бота или не запускали его",
        "failed": "Не доставлено из-за ошибки",
        "pending": "Ожидают отправки",
    }
    found = {key: re.search(rf"{label}: (\d+)", text) for key, label in labels.items()}
    return {key: int(match.group(1)) for key, match in found.items() if match}


async def test_the_live_report_shows_progress_and_a_message_failed_after_retries(emulator, database_url):
    async with running_app(emulator, database_url, OUTBOX_RATE=3.0) as app:
        app.delivery.max_attempts = 3  # three 502s and the row is given up as failed
        app.delivery.backoff = 0.05
        teacher = await add_person(app, emulator, 4001, Role.teacher, SCHOOL_B)
        parents = [await add_person(app, emulator, 4010 + i, Role.parent, SCHOOL_B, 6) for i in range(12)]
        broken = await add_person(app, emulator, 4030, Role.parent, SCHOOL_B, 6)
        broken.fail_sends(502)  # every send to this chat: 502 Bad Gateway
        summary = await compose(teacher, ["Вся школа", "Родители"], "Субботник в 10:00", ack=False)
        assert "Получателей: 13" in summary
        report_id = teacher.last.message_id
        seen: list[str] = []

        def report_finished(user) -> bool:
            text = next(m.text or "" for m in user.bot_messages if m.message_id == report_id)
            if not seen or seen[-1] != text:
                seen.append(text)
            return "Завершена" in text

        await teacher.press("📤 Отправить")
        await teacher.wait_for(report_finished, timeout=40)
        live = [report_numbers(text) for text in seen if "Идёт отправка…" in text]
        assert any(0 < n["delivered"] < 12 for n in live), seen  # a partial count, edited in while sending
        for numbers in live:
            assert numbers["total"] == 13
            assert sum(numbers[k] for k in ("delivered", "blocked", "failed", "pending")) == 13, seen
        delivered = [n["delivered"] for n in live]
        assert delivered == sorted(delivered), seen
        final = report_numbers(seen[-1])
        assert final == {"total": 13, "delivered": 12, "blocked": 0, "failed": 1, "pending": 0}, seen[-1]
        await teacher.wait_for(  # and the final report arrives as a new message
            lambda u: (
                u.bot_messages[-1].message_id != report_id and "Завершена" in (u.bot_messages[-1].text or "")
            ),
            timeout=10,
        )
        assert report_numbers(teacher.bot_messages[-1].text or "") == final

        assert all(len(received(p)) == 1 for p in parents) and received(broken) == []
        failed = (
            await rows(
                app, select(Outbox.status, Outbox.attempts, Outbox.last_error).where(Outbox.chat_id == 4030)
            )
        )[0]
        assert failed.status is OutboxStatus.failed and failed.attempts == 3
        assert "502" in (failed.last_error or "") and "Bad Gateway" in (failed.last_error or "")
        inactive = await scalar(app, select(User.is_active).where(User.telegram_id == 4030))
        assert inactive is True  # a server error says nothing about the user
