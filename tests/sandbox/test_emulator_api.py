"""Bot API behaviour of the emulator, exercised through aiogram's own client."""

from __future__ import annotations

import asyncio

import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramServerError,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeDefault,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)

from sandbox import Emulator, SimUser

PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


def kb(*labels_and_data: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=t, callback_data=d) for t, d in labels_and_data]]
    )


async def test_get_me(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == 123456789
    assert me.is_bot
    assert me.username == "profbot_sandbox_bot"


async def test_long_polling_wakes_on_send_and_offset_confirms(bot: Bot, emu: Emulator) -> None:
    user = emu.user(1001, first_name="Мария")
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.05)
    assert not poll.done()
    loop = asyncio.get_running_loop()
    start = loop.time()
    await user.send("/start")
    updates = await asyncio.wait_for(poll, 2)
    assert loop.time() - start < 0.5
    assert len(updates) == 1
    message = updates[0].message
    assert message is not None and message.text == "/start"
    assert message.entities is not None and message.entities[0].type == "bot_command"
    assert emu.updates_pending == 1
    # same offset: delivered again; confirmed offset: gone
    again = await bot.get_updates(timeout=0)
    assert [u.update_id for u in again] == [updates[0].update_id]
    await user.send("второе")
    rest = await bot.get_updates(offset=updates[0].update_id + 1, timeout=0)
    assert [u.message.text for u in rest if u.message] == ["второе"]
    await bot.get_updates(offset=rest[-1].update_id + 1, timeout=0)
    assert emu.updates_pending == 0
    await emu.wait_idle(timeout=0.1)


async def test_negative_offset_and_limit(bot: Bot, emu: Emulator) -> None:
    user = emu.user(1002)
    for i in range(5):
        await user.send(f"m{i}")
    assert len(await bot.get_updates(limit=2)) == 2
    last = await bot.get_updates(offset=-1)
    assert [u.message.text for u in last if u.message] == ["m4"]
    assert emu.updates_pending == 1


async def test_webhook_blocks_get_updates(bot: Bot) -> None:
    await bot.set_webhook("http://127.0.0.1:9/hook")
    info = await bot.get_webhook_info()
    assert info.url == "http://127.0.0.1:9/hook"
    with pytest.raises(TelegramConflictError, match="can't use getUpdates method while webhook is active"):
        await bot.get_updates()
    await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates() == []


async def test_webhook_delivery(bot: Bot, emu: Emulator) -> None:
    from aiohttp import web

    received: list[dict] = []

    async def hook(request: web.Request) -> web.Response:
        assert request.headers["X-Telegram-Bot-Api-Secret-Token"] == "s3cret"
        received.append(await request.json())
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret")
        await emu.user(1003).send("hi")
        await emu.wait_idle(timeout=2)
        assert received[0]["message"]["text"] == "hi"
    finally:
        await bot.delete_webhook()
        await runner.cleanup()


async def test_send_message_visible_with_buttons(bot: Bot, started: SimUser) -> None:
    sent = await bot.send_message(
        1001,
        "Вы <b>придёте</b>?",
        parse_mode="HTML",
        reply_markup=kb(("Пойду", "rsvp:1:go"), ("Не пойду", "rsvp:1:no")),
    )
    assert sent.from_user is not None and sent.from_user.is_bot
    assert sent.chat.type == "private"
    last = started.last
    assert last is not None
    assert last.text == "Вы придёте?"
    assert last.html == "Вы <b>придёте</b>?"
    assert [[b.text for b in row] for row in last.buttons] == [["Пойду", "Не пойду"]]
    assert last.buttons[0][0].callback_data == "rsvp:1:go"
    assert "[ Пойду ] [ Не пойду ]" in str(last)
    assert [m.from_bot for m in started.chat] == [False, True]


async def test_text_length_limits(bot: Bot, started: SimUser) -> None:
    await bot.send_message(1001, "я" * 4096)
    await bot.send_message(1001, "<b>" + "я" * 4096 + "</b>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(1001, "я" * 4097)
    for empty in ("", "   \n "):
        with pytest.raises(TelegramBadRequest, match="message text is empty"):
            await bot.send_message(1001, empty)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(1001, "<b> </b>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_document(1001, BufferedInputFile(b"x", "a.txt"), caption="c" * 1025)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("Привет <foo>", 'Unsupported start tag "foo" at byte offset 13'),
        ("<b>жирный", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
    ],
)
async def test_bad_html(bot: Bot, started: SimUser, text: str, fragment: str) -> None:
    with pytest.raises(TelegramBadRequest) as info:
        await bot.send_message(1001, text, parse_mode="HTML")
    assert info.value.message == f"Bad Request: can't parse entities: {fragment}"


async def test_html_escapes_stored(bot: Bot, started: SimUser) -> None:
    await bot.send_message(1001, "5 &lt; 7 &amp;&amp; <i>&quot;ok&quot;</i>", parse_mode="HTML")
    last = started.last
    assert last is not None
    assert last.text == '5 < 7 && "ok"'
    assert last.html == '5 &lt; 7 &amp;&amp; <i>"ok"</i>'


async def test_callback_data_limit(bot: Bot, started: SimUser) -> None:
    await bot.send_message(1001, "ok", reply_markup=kb(("x", "я" * 32)))  # 64 bytes
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(1001, "bad", reply_markup=kb(("x", "я" * 32 + "a")))  # 33 chars, 65 bytes


def grid(rows: int, per_row: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=f"{r}.{c}", callback_data=f"b:{r}:{c}") for c in range(per_row)]
            for r in range(rows)
        ]
    )


async def test_inline_keyboard_size_limits(bot: Bot, started: SimUser) -> None:
    """At most 100 buttons in all and 8 in a row; beyond that Telegram answers "reply markup is too long"."""
    await bot.send_message(1001, "100", reply_markup=grid(100, 1))
    await bot.send_message(1001, "8 a row", reply_markup=grid(12, 8))  # 96 buttons
    sent = started.last
    assert sent is not None and len(sent.buttons) == 12
    for markup in (grid(101, 1), grid(1, 9), grid(13, 8)):
        with pytest.raises(TelegramBadRequest, match="Bad Request: reply markup is too long"):
            await bot.send_message(1001, "too many", reply_markup=markup)
    with pytest.raises(TelegramBadRequest, match="reply markup is too long"):
        await bot.edit_message_reply_markup(
            chat_id=1001, message_id=sent.message_id, reply_markup=grid(101, 1)
        )
    with pytest.raises(TelegramBadRequest, match="reply markup is too long"):
        await bot.edit_message_text("x", chat_id=1001, message_id=sent.message_id, reply_markup=grid(1, 9))
    assert started.last is not None and started.last.text == "8 a row" and len(started.last.buttons) == 12


async def test_chat_not_found_for_never_started_user(bot: Bot, emu: Emulator) -> None:
    emu.user(2002)
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(2002, "hi")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(999999, "hi")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_chat_action(999999, "typing")


async def test_blocked_and_deactivated(bot: Bot, emu: Emulator, started: SimUser) -> None:
    await bot.get_updates(offset=-1)
    started.block()
    with pytest.raises(TelegramForbiddenError, match="Forbidden: bot was blocked by the user"):
        await bot.send_message(1001, "hi")
    updates = await bot.get_updates(offset=-1, allowed_updates=["message", "my_chat_member"])
    member = updates[-1].my_chat_member
    assert member is not None
    assert member.old_chat_member.status == "member"
    assert member.new_chat_member.status == "kicked"
    started.unblock()
    await bot.send_message(1001, "welcome back")
    started.deactivate()
    with pytest.raises(TelegramForbiddenError, match="Forbidden: user is deactivated"):
        await bot.send_message(1001, "hi")


async def test_edit_message_text_and_markup(bot: Bot, started: SimUser) -> None:
    sent = await bot.send_message(1001, "v1", reply_markup=kb(("A", "a")))
    await bot.edit_message_text(
        "<b>v2</b>", chat_id=1001, message_id=sent.message_id, parse_mode="HTML", reply_markup=kb(("A", "a"))
    )
    last = started.last
    assert last is not None
    assert (last.text, last.html, last.edited, last.edit_count) == ("v2", "<b>v2</b>", True, 1)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "<b>v2</b>",
            chat_id=1001,
            message_id=sent.message_id,
            parse_mode="HTML",
            reply_markup=kb(("A", "a")),
        )
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=1001, message_id=9999)
    await bot.edit_message_reply_markup(chat_id=1001, message_id=sent.message_id, reply_markup=kb(("B", "b")))
    assert started.last is not None and started.last.button_labels == ["B"]
    await bot.edit_message_reply_markup(chat_id=1001, message_id=sent.message_id)
    assert started.last is not None and started.last.buttons == []
    assert len(started.bot_messages) == 1


async def test_callback_query_answer(bot: Bot, emu: Emulator, started: SimUser) -> None:
    await bot.send_message(1001, "Придёте?", reply_markup=kb(("Пойду", "rsvp:1:go")))
    query_id = await started.press("Пойду")
    updates = await bot.get_updates(offset=-1)
    query = updates[-1].callback_query
    assert query is not None and query.id == query_id and query.data == "rsvp:1:go"
    assert query.message is not None and query.message.message_id == started.last.message_id  # type: ignore[union-attr]
    waiter = asyncio.create_task(started.wait_callback_answer(timeout=2))
    await query.answer("Записали!", show_alert=True)  # type: ignore[misc]
    answer = await waiter
    assert (answer.text, answer.show_alert) == ("Записали!", True)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query_id)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query("12345")
    with pytest.raises(LookupError):
        await started.press("Нет такой")
    forged = await started.press(data="rsvp:999:go", force=True)
    assert forged


async def test_delete_message(bot: Bot, started: SimUser) -> None:
    sent = await bot.send_message(1001, "temp")
    assert await bot.delete_message(1001, sent.message_id)
    assert started.bot_messages == []
    assert started.bot_sent_total == 1
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(1001, sent.message_id)


async def test_send_document_and_photo(bot: Bot, emu: Emulator, started: SimUser) -> None:
    doc = await bot.send_document(
        1001, BufferedInputFile(b"col1;col2\n", "plan.csv"), caption="<b>План</b>", parse_mode="HTML"
    )
    assert doc.document is not None and doc.document.file_name == "plan.csv"
    last = started.last
    assert last is not None and last.document is not None
    assert last.document.data == b"col1;col2\n"
    assert last.document.mime_type == "text/csv"
    assert (last.caption, last.html) == ("План", "<b>План</b>")
    photo = await bot.send_photo(1001, BufferedInputFile(PNG_1x1, "p.png"))
    assert photo.photo is not None and photo.photo[-1].width == 1
    assert started.last is not None and started.last.photo is not None
    assert started.last.photo.data == PNG_1x1
    again = await bot.send_document(1001, doc.document.file_id)
    assert again.document is not None and again.document.file_id == doc.document.file_id
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_document(1001, "nonexistent-file-id")


async def test_user_document_download(bot: Bot, emu: Emulator, started: SimUser) -> None:
    await started.send_document("plan.xlsx", b"PK\x03\x04 fake xlsx", caption="мой план")
    updates = await bot.get_updates(offset=-1)
    message = updates[-1].message
    assert message is not None and message.document is not None
    assert message.document.file_name == "plan.xlsx"
    assert message.caption == "мой план"
    file = await bot.get_file(message.document.file_id)
    data = await bot.download(file)
    assert data is not None and data.read() == b"PK\x03\x04 fake xlsx"


def png(width: int, height: int) -> bytes:
    """A valid PNG header of the given size (the emulator reads IHDR for PhotoSize)."""
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))


async def test_user_sends_formatted_text(bot: Bot, started: SimUser) -> None:
    # "🎓 " is 3 UTF-16 code units: offsets after it are in code units, as Telegram counts them.
    text = "🎓 Собрание в пятницу, подробности на сайте"
    entities = [
        {"type": "bold", "offset": 3, "length": 8},
        {"type": "italic", "offset": 14, "length": 7},
        {"type": "text_link", "offset": 38, "length": 5, "url": "https://school.example/news"},
    ]
    raw = await started.send(text, entities=entities)
    assert raw["entities"] == entities
    message = (await bot.get_updates(offset=-1))[-1].message
    assert message is not None and message.entities is not None
    assert [e.type for e in message.entities] == ["bold", "italic", "text_link"]
    assert message.html_text == (
        '🎓 <b>Собрание</b> в <i>пятницу</i>, подробности на <a href="https://school.example/news">сайте</a>'
    )
    assert started.chat[-1].html == message.html_text
    command = await started.send("/start payload", entities=[{"type": "italic", "offset": 7, "length": 7}])
    assert [e["type"] for e in command["entities"]] == ["bot_command", "italic"]


@pytest.mark.parametrize(
    "entity, error",
    [
        ({"type": "bold", "offset": 0, "length": 99}, "beyond the text"),
        ({"type": "bold", "offset": -1, "length": 1}, "offset >= 0"),
        ({"type": "blink", "offset": 0, "length": 1}, "unknown entity type"),
        ({"type": "text_link", "offset": 0, "length": 1}, "needs a url"),
    ],
)
async def test_user_entities_are_checked(started: SimUser, entity: dict, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        await started.send("🎓 текст", entities=[entity])


async def test_user_sends_a_photo_with_a_caption(bot: Bot, emu: Emulator, started: SimUser) -> None:
    data = png(640, 480)
    caption_entities = [{"type": "bold", "offset": 0, "length": 6}]
    await started.send_photo(data, caption="Афиша ярмарки", caption_entities=caption_entities)
    message = (await bot.get_updates(offset=-1))[-1].message
    assert message is not None and message.photo is not None and message.document is None
    size = message.photo[-1]
    assert (size.width, size.height, size.file_size) == (640, 480, len(data))
    assert size.file_unique_id
    assert message.caption == "Афиша ярмарки"
    assert message.html_text == "<b>Афиша </b>ярмарки"
    file = await bot.get_file(size.file_id)
    downloaded = await bot.download(file)
    assert downloaded is not None and downloaded.read() == data
    # The bot sends it on by file_id, as Telegram allows for files it has seen.
    other = emu.user(1002)
    other.started = True
    sent = await bot.send_photo(1002, size.file_id, caption="ещё раз")
    assert sent.photo is not None and sent.photo[-1].file_id == size.file_id
    assert other.last is not None and other.last.photo is not None and other.last.photo.data == data
    with pytest.raises(ValueError, match="at most 1024"):
        await started.send_photo(data, caption="я" * 1025)


async def test_failing_chat_answers_5xx(bot: Bot, emu: Emulator, started: SimUser) -> None:
    started.fail_sends(503)
    with pytest.raises(TelegramServerError, match="Service Unavailable"):
        await bot.send_message(1001, "привет")
    started.fail_sends(None)
    await bot.send_message(1001, "привет")
    assert started.bot_sent_total == 1


async def test_my_commands_per_language(bot: Bot, emu: Emulator) -> None:
    await bot.set_my_commands([BotCommand(command="start", description="Start")])
    await bot.set_my_commands([BotCommand(command="start", description="Начать")], language_code="ru")
    ru = await bot.get_my_commands(language_code="ru")
    assert [c.description for c in ru] == ["Начать"]
    assert [c.description for c in await bot.get_my_commands(scope=BotCommandScopeDefault())] == ["Start"]
    assert emu.commands(language_code="ru")[0]["description"] == "Начать"
    await bot.delete_my_commands(language_code="ru")
    assert await bot.get_my_commands(language_code="ru") == []


async def test_wait_helpers(bot: Bot, started: SimUser) -> None:
    async def later() -> None:
        await asyncio.sleep(0.05)
        await bot.send_message(1001, "one")
        await bot.send_message(1001, "two")

    task = asyncio.create_task(later())
    messages = await started.wait_messages(2, timeout=2)
    await task
    assert [m.text for m in messages] == ["one", "two"]
    with pytest.raises(TimeoutError, match="two"):
        await started.wait_for(lambda u: False, timeout=0.05)


async def test_stop_with_open_long_poll(emu: Emulator, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await asyncio.sleep(0.05)
    await asyncio.wait_for(emu.stop(), 3)
    assert await asyncio.wait_for(poll, 3) == []
