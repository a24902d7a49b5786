"""The HTTP control side (/control/...), used by curl, the CLI and out-of-process bots."""

from __future__ import annotations

import base64
import json

import aiohttp
from aiogram import Bot
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from sandbox import Emulator
from tests.sandbox.test_emulator_api import PNG_1x1


async def test_control_send_press_chat_counters(http: aiohttp.ClientSession, emu: Emulator, bot: Bot) -> None:
    base = f"{emu.url}/control"
    async with http.post(f"{base}/users/1001/send", json={"text": "/start"}) as resp:
        assert resp.status == 200
        body = await resp.json()
        assert body["ok"] and body["result"]["text"] == "/start"
    updates = await bot.get_updates()
    assert updates[0].message is not None and updates[0].message.from_user is not None
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Пойду", callback_data="go")]])
    await bot.send_message(1001, "<b>Придёте?</b>", parse_mode="HTML", reply_markup=markup)

    async with http.get(f"{base}/users/1001/chat") as resp:
        chat = (await resp.json())["result"]
    assert [m["from_bot"] for m in chat] == [False, True]
    assert chat[1]["html"] == "<b>Придёте?</b>"
    assert chat[1]["buttons"] == [[{"text": "Пойду", "callback_data": "go", "url": None}]]

    async with http.post(f"{base}/users/1001/press", json={"label": "Пойду"}) as resp:
        query_id = (await resp.json())["result"]["callback_query_id"]
    async with http.post(f"{base}/users/1001/press", json={"label": "Нет"}) as resp:
        assert resp.status == 404
    await bot.answer_callback_query(query_id, text="ok")
    async with http.get(f"{base}/users/1001/callback_answers") as resp:
        assert (await resp.json())["result"][0]["text"] == "ok"

    async with http.get(f"{base}/users/1001/chat.txt") as resp:
        assert "[ Пойду ]" in await resp.text()
    async with http.get(f"{base}/counters") as resp:
        counters = (await resp.json())["result"]
    assert counters["by_method"]["sendMessage"] == 1
    assert counters["delivered_by_chat"] == {"1001": 1}
    async with http.post(f"{base}/counters/reset") as resp:
        assert (await resp.json())["result"]["delivered_total"] == 0
    async with http.get(f"{base}/users") as resp:
        assert (await resp.json())["result"][0]["id"] == 1001


async def test_control_limits_faults_files_block(
    http: aiohttp.ClientSession, emu: Emulator, bot: Bot
) -> None:
    base = f"{emu.url}/control"
    async with http.post(f"{base}/limits", json={"global_rate": 50, "per_chat_burst": 5}) as resp:
        limits = (await resp.json())["result"]
    assert limits["global_rate"] == 50 and limits["per_chat_burst"] == 5
    async with http.post(f"{base}/limits", json={"bogus": 1}) as resp:
        assert resp.status == 400
    async with http.post(f"{base}/faults", json={"method": "getMe", "error_rate": 1.0}) as resp:
        assert (await resp.json())["result"][0]["method"] == "getMe"
    async with http.delete(f"{base}/faults") as resp:
        assert (await resp.json())["result"] == []

    form = aiohttp.FormData()
    form.add_field("document", b"a;b\n1;2\n", filename="list.csv", content_type="text/csv")
    form.add_field("caption", "список")
    async with http.post(f"{base}/users/1005/document", data=form) as resp:
        message = (await resp.json())["result"]
    file_id = message["document"]["file_id"]
    async with http.get(f"{base}/files/{file_id}") as resp:
        assert await resp.read() == b"a;b\n1;2\n"
    async with http.post(f"{base}/users/1005/block") as resp:
        assert (await resp.json())["result"]["blocked"] is True
    updates = await bot.get_updates()
    assert [u.event_type for u in updates] == ["message", "my_chat_member"]
    async with http.get(f"{base}/users/4242/chat") as resp:
        assert resp.status == 404


async def test_control_formatted_text_photo_and_failing_chat(
    http: aiohttp.ClientSession, emu: Emulator, bot: Bot
) -> None:
    base = f"{emu.url}/control"
    bold = [{"type": "bold", "offset": 0, "length": 6}]
    async with http.post(f"{base}/users/1006/send", json={"text": "Важно: завтра", "entities": bold}) as resp:
        assert (await resp.json())["result"]["entities"] == bold
    async with http.post(f"{base}/users/1006/send", json={"text": "x", "entities": bold}) as resp:
        assert resp.status == 400 and "beyond the text" in (await resp.json())["error"]

    form = aiohttp.FormData()
    form.add_field("photo", PNG_1x1, filename="p.png", content_type="image/png")
    form.add_field("caption", "Афиша")
    form.add_field("caption_entities", json.dumps([{"type": "italic", "offset": 0, "length": 5}]))
    async with http.post(f"{base}/users/1006/photo", data=form) as resp:
        message = (await resp.json())["result"]
    assert message["photo"][0]["width"] == 1 and message["caption_entities"][0]["type"] == "italic"
    photo_json = {"data_base64": base64.b64encode(PNG_1x1).decode(), "caption": "ещё"}
    async with http.post(f"{base}/users/1006/photo", json=photo_json) as resp:
        file_id = (await resp.json())["result"]["photo"][-1]["file_id"]
    async with http.get(f"{base}/files/{file_id}") as resp:
        assert await resp.read() == PNG_1x1
    updates = await bot.get_updates()
    assert [u.message.html_text for u in updates if u.message] == [
        "<b>Важно:</b> завтра",
        "<i>Афиша</i>",
        "ещё",
    ]

    async with http.post(f"{base}/users/1006/fail_sends", json={"status": 502}) as resp:
        assert (await resp.json())["result"]["server_error"] == 502
    async with http.post(f"{base}/users/1006/fail_sends", json={"status": 404}) as resp:
        assert resp.status == 400
    async with http.post(f"{base}/users/1006/fail_sends", json={"status": None}) as resp:
        assert (await resp.json())["result"]["server_error"] is None


def test_cli_render_message() -> None:
    from sandbox.cli import render_message

    text = render_message(
        {
            "message_id": 3,
            "from_bot": True,
            "text": "Придёте?",
            "buttons": [[{"text": "Пойду"}, {"text": "Не пойду"}]],
            "edited": True,
        }
    )
    assert text == "#3 bot (edited):\n  Придёте?\n  [ Пойду ] [ Не пойду ]"
