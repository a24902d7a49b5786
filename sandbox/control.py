"""HTTP control side under /control: act as users, read chats, tune limits and faults.

Every endpoint answers ``{"ok": true, "result": ...}`` or ``{"ok": false, "error": "..."}``
with a matching HTTP status, so curl users and the CLI get one shape everywhere.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from sandbox.emulator import Emulator
    from sandbox.users import SimUser

__all__ = ["add_control_routes"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _ok(result: Any) -> web.Response:
    return web.json_response(
        {"ok": True, "result": result}, dumps=lambda o: json.dumps(o, ensure_ascii=False)
    )


def _fail(status: int, error: str) -> web.Response:
    return web.json_response({"ok": False, "error": error}, status=status)


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.body_exists:
        return {}
    if request.content_type == "application/json":
        try:
            data = await request.json()
        except ValueError as exc:
            raise web.HTTPBadRequest(
                text=json.dumps({"ok": False, "error": f"invalid JSON: {exc}"}),
                content_type="application/json",
            ) from None
        return data if isinstance(data, dict) else {}
    form = await request.post()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _entities(value: Any) -> list[dict[str, Any]] | None:
    """MessageEntity list from JSON, or from a JSON string (a multipart form field)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ValueError(f"entities: invalid JSON: {exc}") from None
    if value is not None and not isinstance(value, list):
        raise ValueError("entities must be a list of MessageEntity objects")
    return value


def add_control_routes(app: web.Application, emu: Emulator) -> None:
    """Register /control/* routes bound to ``emu``."""

    def user_of(request: web.Request, create: bool = True) -> SimUser:
        try:
            user_id = int(request.match_info["user_id"])
        except ValueError:
            raise web.HTTPBadRequest(
                text=json.dumps({"ok": False, "error": "user id must be an integer"}),
                content_type="application/json",
            ) from None
        if not create and user_id not in emu.users:
            raise web.HTTPNotFound(
                text=json.dumps({"ok": False, "error": f"unknown user {user_id}"}),
                content_type="application/json",
            )
        return emu.user(user_id)

    def guarded(fn: Handler) -> Handler:
        async def wrapper(request: web.Request) -> web.StreamResponse:
            try:
                return await fn(request)
            except LookupError as exc:
                return _fail(404, str(exc))
            except (ValueError, TypeError, RuntimeError) as exc:
                return _fail(400, str(exc))

        return wrapper

    async def health(request: web.Request) -> web.StreamResponse:
        return _ok({"url": emu.url, "updates_pending": emu.updates_pending})

    async def list_users(request: web.Request) -> web.StreamResponse:
        return _ok([u.summary() for u in emu.users.values()])

    async def create_user(request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        user = user_of(request)
        profile = {k: body[k] for k in ("first_name", "last_name", "username", "language_code") if k in body}
        if profile:
            user.update_profile(**profile)
        return _ok(user.summary())

    async def get_user(request: web.Request) -> web.StreamResponse:
        return _ok(user_of(request, create=False).summary())

    async def send(request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        text = body.get("text")
        if not isinstance(text, str) or not text:
            return _fail(400, 'body must be {"text": "...", "entities": [...]}')
        return _ok(await user_of(request).send(text, entities=_entities(body.get("entities"))))

    async def press(request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        mid = body.get("message_id")
        query_id = await user_of(request).press(
            body.get("label"),
            data=body.get("data"),
            message_id=int(mid) if mid is not None else None,
            force=bool(body.get("force", False)),
        )
        return _ok({"callback_query_id": query_id})

    async def media(request: web.Request, field: str) -> tuple[bytes, str | None, str | None, dict[str, Any]]:
        """(data, file name, mime type, other fields) of a multipart or JSON upload."""
        if request.content_type == "multipart/form-data":
            form = await request.post()
            upload = form.get(field) or form.get("file")
            if not isinstance(upload, web.FileField):
                raise ValueError(f'multipart body needs a file field "{field}"')
            mime = upload.content_type if upload.content_type != "application/octet-stream" else None
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
            return upload.file.read(), upload.filename, mime, fields
        body = await _body(request)
        if "data_base64" in body:
            data = base64.b64decode(body["data_base64"])
        else:
            data = str(body.get("text", "")).encode("utf-8")
        return data, body.get("file_name"), body.get("mime_type"), body

    async def document(request: web.Request) -> web.StreamResponse:
        data, name, mime, body = await media(request, "document")
        caption = body.get("caption")
        raw = await user_of(request).send_document(
            name or "file.bin",
            data,
            mime_type=mime,
            caption=caption if isinstance(caption, str) else None,
            caption_entities=_entities(body.get("caption_entities")),
        )
        return _ok(raw)

    async def photo(request: web.Request) -> web.StreamResponse:
        data, _name, _mime, body = await media(request, "photo")
        if not data:
            return _fail(400, "the photo is empty")
        caption = body.get("caption")
        raw = await user_of(request).send_photo(
            data,
            caption=caption if isinstance(caption, str) else None,
            caption_entities=_entities(body.get("caption_entities")),
        )
        return _ok(raw)

    async def fail_sends(request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        user = user_of(request)
        user.fail_sends(body.get("status", 502))
        return _ok(user.summary())

    def state_action(action: str) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            user = user_of(request)
            getattr(user, action)()
            return _ok(user.summary())

        return handler

    async def chat(request: web.Request) -> web.StreamResponse:
        user = user_of(request, create=False)
        return _ok([m.as_dict() for m in user.chat])

    async def chat_text(request: web.Request) -> web.StreamResponse:
        return web.Response(text=user_of(request, create=False).dump() + "\n")

    async def answers(request: web.Request) -> web.StreamResponse:
        return _ok([a.as_dict() for a in user_of(request, create=False).callback_answers])

    async def limits(request: web.Request) -> web.StreamResponse:
        if request.method == "POST":
            body = await _body(request)
            allowed = (
                "global_rate",
                "per_chat_rate",
                "per_chat_burst",
                "paid_rate",
                "global_burst",
                "paid_burst",
            )
            unknown = set(body) - set(allowed)
            if unknown:
                return _fail(400, f"unknown limits: {sorted(unknown)}")
            return _ok(emu.set_limits(**body))
        return _ok(emu.limits())

    async def faults(request: web.Request) -> web.StreamResponse:
        if request.method == "DELETE":
            emu.clear_faults()
        elif request.method == "POST":
            body = dict(await _body(request))
            method = body.pop("method", None)
            seed = body.pop("seed", None)
            emu.set_faults(method, seed=seed, **body)
        return _ok([rule.as_dict() for rule in emu.faults])

    async def counters(request: web.Request) -> web.StreamResponse:
        return _ok(emu.counters.as_dict())

    async def reset_counters(request: web.Request) -> web.StreamResponse:
        emu.reset_counters()
        return _ok(emu.counters.as_dict())

    async def file(request: web.Request) -> web.StreamResponse:
        record = emu.file(request.match_info["file_id"])
        if record is None:
            return _fail(404, "unknown file_id")
        headers = {}
        if record.file_name:
            headers["Content-Disposition"] = f'attachment; filename="{record.file_name}"'
        return web.Response(
            body=record.data, content_type=record.mime_type or "application/octet-stream", headers=headers
        )

    async def commands(request: web.Request) -> web.StreamResponse:
        lang = request.query.get("language_code", "")
        scope = json.loads(request.query["scope"]) if "scope" in request.query else None
        return _ok(emu.commands(scope, lang))

    r = app.router
    r.add_get("/control/health", guarded(health))
    r.add_get("/control/users", guarded(list_users))
    r.add_post("/control/users/{user_id}", guarded(create_user))
    r.add_get("/control/users/{user_id}", guarded(get_user))
    r.add_post("/control/users/{user_id}/send", guarded(send))
    r.add_post("/control/users/{user_id}/press", guarded(press))
    r.add_post("/control/users/{user_id}/document", guarded(document))
    r.add_post("/control/users/{user_id}/photo", guarded(photo))
    r.add_post("/control/users/{user_id}/fail_sends", guarded(fail_sends))
    for action in ("block", "unblock", "deactivate"):
        r.add_post(f"/control/users/{{user_id}}/{action}", guarded(state_action(action)))
    r.add_get("/control/users/{user_id}/chat", guarded(chat))
    r.add_get("/control/users/{user_id}/chat.txt", guarded(chat_text))
    r.add_get("/control/users/{user_id}/callback_answers", guarded(answers))
    r.add_route("GET", "/control/limits", guarded(limits))
    r.add_route("POST", "/control/limits", guarded(limits))
    for verb in ("GET", "POST", "DELETE"):
        r.add_route(verb, "/control/faults", guarded(faults))
    r.add_get("/control/counters", guarded(counters))
    r.add_post("/control/counters/reset", guarded(reset_counters))
    r.add_get("/control/files/{file_id}", guarded(file))
    r.add_get("/control/commands", guarded(commands))
