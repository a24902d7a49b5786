"""The Telegram Bot API emulator: a loopback aiohttp server plus an in-process control API."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import json
import logging
import math
import mimetypes
import random
import re
import secrets
import struct
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web

from sandbox.html import HtmlParseError, parse_html, render_html, strip_text
from sandbox.models import (
    ApiError,
    Button,
    CallbackAnswer,
    ChatMessage,
    Counters,
    FaultRule,
    FileRecord,
)
from sandbox.users import SimUser

__all__ = ["Emulator", "EmulatorConfig"]

log = logging.getLogger("sandbox.emulator")

_TOKEN_RE = re.compile(r"(\d{1,20}):[A-Za-z0-9_-]{1,100}")
SEND_METHODS = frozenset({"sendMessage", "sendDocument", "sendPhoto", "copyMessage", "forwardMessage"})
# Methods that are harmless to acknowledge with `true` without emulating them.
TRIVIAL_TRUE = frozenset(
    {
        "setMyDescription",
        "setMyShortDescription",
        "setMyName",
        "setChatMenuButton",
        "setMyDefaultAdministratorRights",
        "close",
        "logOut",
    }
)
DEFAULT_UPDATE_TYPES = frozenset(
    {"message", "edited_message", "callback_query", "my_chat_member", "inline_query", "chosen_inline_result"}
)
# Telegram does not document these; bots hitting them get "Bad Request: reply markup is too long"
# (e.g. eternnoir/pyTelegramBotAPI#511: 100 buttons at most; rubenlagus/TelegramBots#218: 8 per inline row).
MAX_INLINE_BUTTONS = 100
MAX_INLINE_ROW_BUTTONS = 8

_BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "callback_game",
    "pay",
    "web_app",
    "copy_text",
)
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
WRONG_FILE = "Bad Request: wrong file identifier/HTTP URL specified"


@dataclass
class EmulatorConfig:
    """Construction-time settings; limits can be changed later with ``Emulator.set_limits``.

    A rate of 0 (or less) disables that limit. Bursts default to one second worth of tokens.
    """

    global_rate: float = 30.0
    per_chat_rate: float = 1.0
    per_chat_burst: int = 3
    paid_rate: float = 1000.0
    global_burst: int | None = None
    paid_burst: int | None = None
    bot_username: str = "profbot_sandbox_bot"
    bot_first_name: str = "Profbot Sandbox"
    host: str = "127.0.0.1"
    port: int = 0
    seed: int | None = None
    callback_query_ttl: float = 15.0
    max_long_poll: float = 50.0


class TokenBucket:
    """Lazy-refill token bucket: O(1) per check, no background tasks."""

    __slots__ = ("capacity", "rate", "stamp", "tokens")

    def __init__(self, rate: float, capacity: float) -> None:
        self.rate = rate
        self.capacity = max(capacity, 1.0)
        self.tokens = self.capacity
        self.stamp = time.monotonic()

    def configure(self, rate: float, capacity: float) -> None:
        """Apply new limits without forgetting the tokens already spent."""
        self.wait_time(time.monotonic())  # settle the refill at the old rate first
        self.rate = rate
        self.capacity = max(capacity, 1.0)
        self.tokens = min(self.tokens, self.capacity)

    def wait_time(self, now: float) -> float:
        """Seconds until one token is available (0 when available now or unlimited)."""
        if self.rate <= 0:
            return 0.0
        # `now` may predate `stamp` (read before the bucket was made): no negative refill, no stamp moved back.
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
        if self.tokens >= 1.0:
            return 0.0
        return (1.0 - self.tokens) / self.rate

    def take(self) -> None:
        """Spend one token (call only after wait_time() returned 0)."""
        if self.rate > 0:
            self.tokens -= 1.0


class _Params:
    """Request parameters with Telegram's lenient typing (everything may arrive as a string)."""

    __slots__ = ("data", "files")

    def __init__(self, data: dict[str, Any], files: dict[str, web.FileField]) -> None:
        self.data = data
        self.files = files

    def get(self, key: str) -> Any:
        value = self.data.get(key)
        return None if value == "" else value

    def text(self, key: str) -> str | None:
        value = self.data.get(key)
        return None if value is None else str(value)

    def integer(self, key: str, default: int | None = None) -> int | None:
        value = self.get(key)
        if value is None:
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ApiError(400, f"Bad Request: invalid {key} specified") from None

    def flag(self, key: str) -> bool:
        value = self.get(key)
        return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))

    def obj(self, key: str) -> Any:
        value = self.get(key)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise ApiError(400, f"Bad Request: can't parse {key} JSON object") from None
        return value


@dataclass(slots=True)
class _CallbackRecord:
    user: SimUser
    created: float
    answered: bool = False


def _image_size(data: bytes) -> tuple[int, int]:
    """Width/height of a PNG or JPEG, (0, 0) if unknown: Telegram reports them on PhotoSize."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            length = int.from_bytes(data[i + 2 : i + 4], "big")
            if marker in (0xC0, 0xC1, 0xC2):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(width), int(height)
            i += 2 + length
    return 0, 0


class Emulator:
    """Telegram Bot API emulator; see docs/emulator.md.

    Start it with ``await emu.start()`` inside any running loop; point the bot at ``emu.url``.
    """

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.counters = Counters()
        self._users: dict[int, SimUser] = {}
        self._updates: deque[dict[str, Any]] = deque()
        self._next_update_id = 1
        self._update_event: asyncio.Event | None = None
        self._idle_event: asyncio.Event | None = None
        self._allowed_updates: frozenset[str] = DEFAULT_UPDATE_TYPES
        self._poll_generation = 0
        self._webhook: dict[str, Any] | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._client: ClientSession | None = None
        self._files: dict[str, FileRecord] = {}
        self._files_by_path: dict[str, FileRecord] = {}
        self._file_seq = itertools.count(1)
        self._callbacks: dict[str, _CallbackRecord] = {}
        self._commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self._faults: dict[str | None, FaultRule] = {}
        self._rng = random.Random(self.config.seed)
        self._bot_id = 0
        self._bot_users: dict[int, dict[str, Any]] = {}
        limits = self.limits()
        self._global = TokenBucket(limits["global_rate"], limits["global_burst"])
        self._paid = TokenBucket(limits["paid_rate"], limits["paid_burst"])
        self._chat_buckets: dict[int, TokenBucket] = {}
        self._runner: web.AppRunner | None = None
        self._closing: asyncio.Event | None = None
        self.url = ""
        self._methods: dict[str, Callable[[int, _Params], Any]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "copyMessage": self._copy_message,
            "forwardMessage": self._forward_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "deleteMessages": self._delete_messages,
            "answerCallbackQuery": self._answer_callback_query,
            "getFile": self._get_file,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendChatAction": self._send_chat_action,
            "getChat": self._get_chat,
        }
        for name in TRIVIAL_TRUE:
            self._methods[name] = self._trivial_true
        self._by_lower = {name.lower(): name for name in self._methods}

    # ================================================================= lifecycle
    def build_app(self) -> web.Application:
        """The aiohttp application (bot API + /control); exposed for embedding."""
        from sandbox.control import add_control_routes

        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_bot)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        add_control_routes(app, self)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown)
        return app

    async def start(self) -> str:
        """Bind the server (port 0 picks a free one) and return the base URL."""
        if self._runner is not None:
            return self.url
        self._closing = asyncio.Event()
        runner = web.AppRunner(self.build_app(), access_log=None, handle_signals=False, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, self.config.host, self.config.port)
        await site.start()
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        log.info("Telegram Bot API emulator listening on %s", self.url)
        return self.url

    async def stop(self) -> None:
        """Stop cleanly: wake long polls and held requests, stop webhook delivery, close sockets."""
        if self._closing is not None:
            self._closing.set()
        self._wake_updates()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def closing(self) -> bool:
        """True once stop() began."""
        return self._closing is not None and self._closing.is_set()

    async def _sleep(self, seconds: float) -> None:
        """Sleep that ends early when the emulator stops (so shutdown never hangs)."""
        if seconds <= 0:
            return
        if self._closing is None:
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    # ================================================================= control API (Python)
    def user(
        self,
        user_id: int,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "ru",
    ) -> SimUser:
        """Create or return a simulated user (idempotent; given name fields update it)."""
        existing = self._users.get(user_id)
        if existing is not None:
            changes = {
                k: v
                for k, v in (("first_name", first_name), ("last_name", last_name), ("username", username))
                if v is not None
            }
            if changes:
                existing.update_profile(**changes)
            return existing
        user = SimUser(self, user_id, first_name or f"User{user_id}", last_name, username, language_code)
        self._users[user_id] = user
        return user

    @property
    def users(self) -> dict[int, SimUser]:
        """All simulated users by id."""
        return self._users

    def set_limits(
        self,
        global_rate: float | None = None,
        per_chat_rate: float | None = None,
        per_chat_burst: int | None = None,
        paid_rate: float | None = None,
        global_burst: int | None = None,
        paid_burst: int | None = None,
    ) -> dict[str, Any]:
        """Change rate limits at runtime (None keeps a value); returns the effective limits."""
        cfg = self.config
        if global_rate is not None:
            cfg.global_rate = float(global_rate)
            cfg.global_burst = None if global_burst is None else global_burst
        if paid_rate is not None:
            cfg.paid_rate = float(paid_rate)
            cfg.paid_burst = None if paid_burst is None else paid_burst
        if global_burst is not None:
            cfg.global_burst = int(global_burst)
        if paid_burst is not None:
            cfg.paid_burst = int(paid_burst)
        if per_chat_rate is not None:
            cfg.per_chat_rate = float(per_chat_rate)
        if per_chat_burst is not None:
            cfg.per_chat_burst = int(per_chat_burst)
        self._global.configure(cfg.global_rate, cfg.global_burst or max(cfg.global_rate, 1.0))
        self._paid.configure(cfg.paid_rate, cfg.paid_burst or max(cfg.paid_rate, 1.0))
        for bucket in self._chat_buckets.values():
            bucket.configure(cfg.per_chat_rate, cfg.per_chat_burst)
        return self.limits()

    def limits(self) -> dict[str, Any]:
        """Current limits as a dict."""
        cfg = self.config
        return {
            "global_rate": cfg.global_rate,
            "global_burst": cfg.global_burst or max(cfg.global_rate, 1.0),
            "per_chat_rate": cfg.per_chat_rate,
            "per_chat_burst": cfg.per_chat_burst,
            "paid_rate": cfg.paid_rate,
            "paid_burst": cfg.paid_burst or max(cfg.paid_rate, 1.0),
        }

    def set_faults(self, method: str | None = None, seed: int | None = None, **settings: Any) -> FaultRule:
        """Install (replace) the fault rule for ``method`` (None = every method without its own rule).

        Settings are FaultRule fields: error_rate, error_status, latency_ms, jitter_ms, timeout_s,
        timeout_rate, reset_rate, force_429, retry_after. ``seed`` reseeds the fault RNG.
        """
        known = {f.name for f in fields(FaultRule)} - {"method"}
        unknown = set(settings) - known
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        if seed is not None:
            self._rng.seed(seed)
        if method is not None:
            method = self._by_lower.get(method.lower(), method)
        rule = FaultRule(method=method, **settings)
        self._faults[method] = rule
        return rule

    def force_429(self, count: int, retry_after: int = 5, method: str | None = None) -> FaultRule:
        """Answer the next ``count`` sends (or calls of ``method``) with 429 retry_after."""
        rule = self._faults.get(method) or self.set_faults(method)
        rule.force_429 = count
        rule.retry_after = retry_after
        return rule

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self._faults.clear()

    @property
    def faults(self) -> list[FaultRule]:
        """Installed fault rules."""
        return list(self._faults.values())

    def reset_counters(self) -> None:
        """Zero all counters."""
        self.counters = Counters()

    @property
    def updates_pending(self) -> int:
        """Updates not yet confirmed by the bot."""
        return len(self._updates)

    async def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until the bot has fetched and confirmed every queued update."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._updates:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"{len(self._updates)} updates still pending after {timeout}s")
            if self._idle_event is None:
                self._idle_event = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle_event.wait(), remaining)

    def commands(self, scope: dict[str, Any] | None = None, language_code: str = "") -> list[dict[str, str]]:
        """Commands the bot set for a scope/language (what a user's menu would show)."""
        return list(self._commands.get((self._scope_key(scope), language_code), []))

    def file(self, file_id: str) -> FileRecord | None:
        """Stored file by id."""
        return self._files.get(file_id)

    def bot_user(self, bot_id: int | None = None) -> dict[str, Any]:
        """The bot's User object (id taken from the token it uses)."""
        bot_id = self._bot_id if bot_id is None else bot_id
        cached = self._bot_users.get(bot_id)
        if cached is None:
            cached = {
                "id": bot_id,
                "is_bot": True,
                "first_name": self.config.bot_first_name,
                "username": self.config.bot_username,
            }
            self._bot_users[bot_id] = cached
        return cached

    # ================================================================= updates
    def enqueue_update(self, kind: str, payload: dict[str, Any]) -> int | None:
        """Queue an update for getUpdates/webhook; filtered by allowed_updates like Telegram."""
        allowed = self._allowed_updates
        if self._webhook is not None:
            allowed = self._webhook["allowed"]
        if kind not in allowed:
            return None
        update_id = self._next_update_id
        self._next_update_id += 1
        self._updates.append({"update_id": update_id, kind: payload})
        self._wake_updates()
        return update_id

    def register_callback(self, query_id: str, user: SimUser) -> None:
        """Remember a callback query so answerCallbackQuery can be validated."""
        self._callbacks[query_id] = _CallbackRecord(user=user, created=time.monotonic())

    def _wake_updates(self) -> None:
        if self._update_event is not None:
            self._update_event.set()
            self._update_event = None

    def _confirm(self, offset: int) -> None:
        queue = self._updates
        before = len(queue)
        if offset > 0:
            while queue and queue[0]["update_id"] < offset:
                queue.popleft()
        elif offset < 0:
            while len(queue) > -offset:
                queue.popleft()
        if len(queue) != before and not queue and self._idle_event is not None:
            self._idle_event.set()
            self._idle_event = None

    def _drop_pending(self) -> None:
        self._updates.clear()
        if self._idle_event is not None:
            self._idle_event.set()
            self._idle_event = None

    # ================================================================= files
    def store_file(
        self, data: bytes, file_name: str | None, mime_type: str | None, kind: str = "document"
    ) -> FileRecord:
        """Store bytes and give them Telegram-like file_id / file_path."""
        seq = next(self._file_seq)
        if mime_type is None and file_name:
            mime_type = mimetypes.guess_type(file_name)[0]
        if kind == "photo":
            prefix, folder, ext = "AgACAgIAAxkBAAI", "photos", ".jpg"
            if data[:8] == b"\x89PNG\r\n\x1a\n":
                ext = ".png"
        else:
            prefix, folder = "BQACAgIAAxkBAAI", "documents"
            ext = ""
            if file_name and "." in file_name:
                ext = "." + file_name.rsplit(".", 1)[1][:10]
        record = FileRecord(
            file_id=prefix + secrets.token_urlsafe(24),
            file_unique_id="AgAD" + secrets.token_urlsafe(8),
            file_path=f"{folder}/file_{seq}{ext}",
            data=data,
            file_name=file_name,
            mime_type=mime_type,
        )
        if kind == "photo":
            record.width, record.height = _image_size(data)
        self._files[record.file_id] = record
        self._files_by_path[record.file_path] = record
        return record

    @staticmethod
    def document_dict(record: FileRecord) -> dict[str, Any]:
        """Telegram Document object."""
        out: dict[str, Any] = {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "file_size": record.size,
        }
        if record.file_name:
            out["file_name"] = record.file_name
        if record.mime_type:
            out["mime_type"] = record.mime_type
        return out

    @staticmethod
    def photo_list(record: FileRecord) -> list[dict[str, Any]]:
        """Telegram PhotoSize list (one size: the emulator does not resize)."""
        return [
            {
                "file_id": record.file_id,
                "file_unique_id": record.file_unique_id,
                "width": record.width,
                "height": record.height,
                "file_size": record.size,
            }
        ]

    # ================================================================= HTTP: bot side
    def _json(self, body: dict[str, Any], status: int = 200) -> web.Response:
        self.counters.by_status[status] += 1
        if status == 429:
            self.counters.too_many_requests += 1
        return web.Response(
            text=json.dumps(body, ensure_ascii=False), status=status, content_type="application/json"
        )

    def _error(self, err: ApiError) -> web.Response:
        return self._json(err.payload(), err.code)

    async def _read_params(self, request: web.Request) -> _Params:
        data: dict[str, Any] = dict(request.query)
        files: dict[str, web.FileField] = {}
        if request.body_exists:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise ApiError(400, "Bad Request: can't parse JSON request body") from None
                if isinstance(body, dict):
                    data.update(body)
            else:
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        files[key] = value
                    else:
                        data[key] = value
        return _Params(data, files)

    async def _handle_unknown(self, request: web.Request) -> web.Response:
        return self._error(ApiError(404, "Not Found"))

    async def _handle_bot(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        match = _TOKEN_RE.fullmatch(token)
        raw_method = request.match_info["method"]
        method = self._by_lower.get(raw_method.lower(), raw_method)
        self.counters.by_method[method] += 1
        if match is None:
            return self._error(ApiError(401, "Unauthorized"))
        bot_id = int(match.group(1))
        self._bot_id = bot_id
        if self._faults:
            faulted = await self._apply_faults(request, method)
            if faulted is not None:
                return faulted
        handler = self._methods.get(method)
        if handler is None:
            return self._error(ApiError(404, "Not Found"))
        try:
            params = await self._read_params(request)
            result = handler(bot_id, params)
            if inspect.isawaitable(result):
                result = await result
        except ApiError as err:
            return self._error(err)
        return self._json({"ok": True, "result": result})

    async def _apply_faults(self, request: web.Request, method: str) -> web.StreamResponse | None:
        rule = self._faults.get(method) or self._faults.get(None)
        if rule is None:
            return None
        rng = self._rng
        delay = rule.latency_ms + (rng.uniform(0, rule.jitter_ms) if rule.jitter_ms > 0 else 0.0)
        if delay > 0:
            await self._sleep(delay / 1000.0)
        if rule.reset_rate > 0 and rng.random() < rule.reset_rate:
            self.counters.by_status[0] += 1
            if request.transport is not None:
                request.transport.abort()  # the client sees the connection drop, no HTTP answer
            return web.Response(status=500)  # never written: the transport is already gone
        if rule.timeout_s > 0 and rng.random() < rule.timeout_rate:
            await self._sleep(rule.timeout_s)
        if rule.error_rate > 0 and rng.random() < rule.error_rate:
            status = rule.error_status
            text = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
            return self._error(ApiError(status, text.get(status, "Internal Server Error")))
        if rule.force_429 > 0 and (rule.method is not None or method in SEND_METHODS):
            rule.force_429 -= 1
            retry = max(1, int(rule.retry_after))
            return self._error(ApiError(429, f"Too Many Requests: retry after {retry}", retry_after=retry))
        return None

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if _TOKEN_RE.fullmatch(request.match_info["token"]) is None:
            return self._error(ApiError(401, "Unauthorized"))
        record = self._files_by_path.get(request.match_info["path"])
        if record is None:
            return self._error(ApiError(404, "Not Found"))
        self.counters.by_status[200] += 1
        return web.Response(body=record.data, content_type=record.mime_type or "application/octet-stream")

    # ================================================================= validation helpers
    def _target(self, params: _Params, key: str = "chat_id", check_blocked: bool = True) -> SimUser:
        raw = params.get(key)
        if raw is None:
            raise ApiError(400, f"Bad Request: {key} is empty")
        try:
            chat_id = int(raw)
        except (TypeError, ValueError):
            raise ApiError(400, "Bad Request: chat not found") from None
        user = self._users.get(chat_id)
        if user is None or not user.started:
            raise ApiError(400, "Bad Request: chat not found")
        if user.server_error is not None:  # SimUser.fail_sends(): this chat's server is failing
            names = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
            raise ApiError(user.server_error, names[user.server_error])
        if check_blocked:
            if user.deactivated:
                raise ApiError(403, "Forbidden: user is deactivated")
            if user.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
        return user

    def _format(
        self, params: _Params, text_key: str, entities_key: str, limit: int, too_long: str
    ) -> tuple[str, list[dict[str, Any]]]:
        text = params.text(text_key) or ""
        entities_raw = params.obj(entities_key)
        parse_mode = params.text("parse_mode")
        if entities_raw is not None:
            if not isinstance(entities_raw, list):
                raise ApiError(400, f"Bad Request: can't parse {entities_key} JSON object")
            entities = sorted(
                (dict(e) for e in entities_raw if isinstance(e, dict)),
                key=lambda e: (int(e.get("offset", 0)), -int(e.get("length", 0))),
            )
        elif parse_mode:
            mode = parse_mode.lower()
            if mode == "html":
                try:
                    text, entities = parse_html(text)
                except HtmlParseError as exc:
                    raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from None
            elif mode in ("markdown", "markdownv2"):
                raise ApiError(
                    400, "Bad Request: can't parse entities: the sandbox emulates only parse_mode HTML"
                )
            else:
                raise ApiError(400, "Bad Request: unsupported parse_mode")
        else:
            entities = []
        text, entities = strip_text(text, entities)
        if len(text) > limit:
            raise ApiError(400, too_long)
        return text, entities

    def _markup(
        self, params: _Params
    ) -> tuple[dict[str, Any] | None, list[list[Button]], list[list[str]] | None]:
        """Validate reply_markup; returns (inline markup to echo, inline buttons, reply keyboard labels).

        The reply-keyboard element is None when the message does not touch the keyboard and
        [] when it removes it.
        """
        markup = params.obj("reply_markup")
        if markup is None:
            return None, [], None
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise ApiError(400, "Bad Request: can't parse inline keyboard markup JSON object")
            if sum(len(r) for r in rows) > MAX_INLINE_BUTTONS or any(
                len(r) > MAX_INLINE_ROW_BUTTONS for r in rows
            ):
                raise ApiError(400, "Bad Request: reply markup is too long")
            buttons: list[list[Button]] = []
            for row in rows:
                parsed_row: list[Button] = []
                for raw in row:
                    if not isinstance(raw, dict) or not isinstance(raw.get("text"), str):
                        raise ApiError(
                            400,
                            'Bad Request: can\'t parse inline keyboard button: Field "text" must be of type String',
                        )
                    actions = [a for a in _BUTTON_ACTIONS if a in raw]
                    if len(actions) != 1:
                        raise ApiError(
                            400,
                            "Bad Request: can't parse inline keyboard button: "
                            "Text buttons are unallowed in the inline keyboard",
                        )
                    data = raw.get("callback_data")
                    if "callback_data" in raw and (
                        not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64
                    ):
                        raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                    url = raw.get("url")
                    if "url" in raw and (not isinstance(url, str) or not url.strip()):
                        raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
                    if not raw["text"]:
                        raise ApiError(400, "Bad Request: BUTTON_TEXT_INVALID")
                    parsed_row.append(Button(raw["text"], data, url))
                buttons.append(parsed_row)
            return {"inline_keyboard": rows}, buttons, None
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list):
                raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
            labels = [
                [b.get("text", "") if isinstance(b, dict) else str(b) for b in row]
                for row in rows
                if isinstance(row, list)
            ]
            return None, [], labels
        if markup.get("remove_keyboard"):
            return None, [], []
        if markup.get("force_reply"):
            return None, [], None
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")

    def _check_rate(self, chat_id: int, paid: bool) -> None:
        now = time.monotonic()
        bucket = self._chat_buckets.get(chat_id)
        if bucket is None:
            bucket = TokenBucket(self.config.per_chat_rate, self.config.per_chat_burst)
            self._chat_buckets[chat_id] = bucket
        glob = self._paid if paid else self._global
        wait = max(bucket.wait_time(now), glob.wait_time(now))
        if wait > 0:
            retry = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {retry}", retry_after=retry)
        bucket.take()
        glob.take()

    def _deliver(
        self,
        bot_id: int,
        user: SimUser,
        *,
        text: str | None = None,
        entities: list[dict[str, Any]] | None = None,
        caption: str | None = None,
        caption_entities: list[dict[str, Any]] | None = None,
        markup: dict[str, Any] | None = None,
        buttons: list[list[Button]] | None = None,
        keyboard: list[list[str]] | None = None,
        document: FileRecord | None = None,
        photo: FileRecord | None = None,
        extra: dict[str, Any] | None = None,
    ) -> ChatMessage:
        """Create a bot message in the user's chat and count it as delivered."""
        mid = user.next_message_id()
        date = int(time.time())
        raw: dict[str, Any] = {
            "message_id": mid,
            "from": self.bot_user(bot_id),
            "chat": user.chat_dict(),
            "date": date,
        }
        if extra:
            raw.update(extra)
        if document is not None:
            raw["document"] = self.document_dict(document)
        if photo is not None:
            raw["photo"] = self.photo_list(photo)
        if text is not None:
            raw["text"] = text
            if entities:
                raw["entities"] = entities
        if caption:
            raw["caption"] = caption
            if caption_entities:
                raw["caption_entities"] = caption_entities
        if markup is not None:
            raw["reply_markup"] = markup
        content = text if text is not None else (caption or "")
        message = ChatMessage(
            message_id=mid,
            from_bot=True,
            date=date,
            text=text,
            caption=caption or None,
            html=render_html(content, entities if text is not None else caption_entities),
            entities=(entities if text is not None else caption_entities) or [],
            buttons=buttons or [],
            reply_keyboard=keyboard or [],
            document=document,
            photo=photo,
            raw=raw,
        )
        if keyboard is not None:
            user.keyboard = keyboard
        user.messages[mid] = message
        user.bot_sent_total += 1
        self.counters.delivered_total += 1
        self.counters.delivered_by_chat[user.id] += 1
        user.notify()
        return message

    def _resolve_file(self, params: _Params, key: str, kind: str) -> FileRecord:
        upload = params.files.get(key)
        value = params.get(key)
        if upload is None and isinstance(value, str) and value.startswith("attach://"):
            upload = params.files.get(value[len("attach://") :])
            if upload is None:
                raise ApiError(400, WRONG_FILE)
        if upload is not None:
            data = upload.file.read()
            mime: str | None = upload.content_type
            if not mime or mime == "application/octet-stream":
                mime = None
            return self.store_file(data, file_name=upload.filename, mime_type=mime, kind=kind)
        if not value:
            raise ApiError(400, f"Bad Request: there is no {key} in the request")
        value = str(value)
        if value.startswith(("http://", "https://")):
            name = value.rsplit("/", 1)[-1] or None
            return self.store_file(b"", file_name=name, mime_type=None, kind=kind)
        record = self._files.get(value)
        if record is None:
            raise ApiError(400, WRONG_FILE)
        return record

    def _message_of(self, user: SimUser, params: _Params, missing: str) -> ChatMessage:
        mid = params.integer("message_id")
        if mid is None:
            raise ApiError(400, "Bad Request: message_id is empty")
        message = user.messages.get(mid)
        if message is None:
            raise ApiError(400, missing)
        return message

    @staticmethod
    def _scope_key(scope: Any) -> str:
        if not scope:
            scope = {"type": "default"}
        if not isinstance(scope, dict) or "type" not in scope:
            raise ApiError(400, "Bad Request: can't parse BotCommandScope JSON object")
        return json.dumps(scope, sort_keys=True)

    # ================================================================= methods
    def _trivial_true(self, bot_id: int, params: _Params) -> bool:
        return True

    def _get_me(self, bot_id: int, params: _Params) -> dict[str, Any]:
        return {
            **self.bot_user(bot_id),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, bot_id: int, params: _Params) -> list[dict[str, Any]]:
        if self._webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = params.integer("offset", 0) or 0
        limit = min(max(params.integer("limit", 100) or 100, 1), 100)
        timeout = min(max(params.integer("timeout", 0) or 0, 0), self.config.max_long_poll)
        allowed = params.obj("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else DEFAULT_UPDATE_TYPES
        self._confirm(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake_updates()  # terminates an older long poll, as Telegram does
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            if self._updates or self.closing:
                return list(itertools.islice(self._updates, limit))
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            if self._update_event is None:
                self._update_event = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._update_event.wait(), remaining)

    def _set_webhook(self, bot_id: int, params: _Params) -> bool:
        url = params.text("url") or ""
        if params.flag("drop_pending_updates"):
            self._drop_pending()
        if not url:
            self._remove_webhook()
            return True
        if not url.startswith(("http://", "https://")):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        allowed = params.obj("allowed_updates")
        self._webhook = {
            "url": url,
            "secret_token": params.text("secret_token"),
            "max_connections": params.integer("max_connections", 40),
            "allowed": frozenset(allowed) if isinstance(allowed, list) and allowed else self._allowed_updates,
            "allowed_list": allowed if isinstance(allowed, list) and allowed else None,
            "last_error_date": None,
            "last_error_message": None,
        }
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.get_running_loop().create_task(self._webhook_worker())
        self._wake_updates()
        return True

    def _remove_webhook(self) -> None:
        self._webhook = None
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            self._webhook_task = None

    def _delete_webhook(self, bot_id: int, params: _Params) -> bool:
        if params.flag("drop_pending_updates"):
            self._drop_pending()
        self._remove_webhook()
        return True

    def _get_webhook_info(self, bot_id: int, params: _Params) -> dict[str, Any]:
        hook = self._webhook
        info: dict[str, Any] = {
            "url": hook["url"] if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if hook:
            info["max_connections"] = hook["max_connections"]
            info["ip_address"] = "127.0.0.1"
            if hook["allowed_list"]:
                info["allowed_updates"] = hook["allowed_list"]
            if hook["last_error_date"]:
                info["last_error_date"] = hook["last_error_date"]
                info["last_error_message"] = hook["last_error_message"]
        return info

    async def _webhook_worker(self) -> None:
        """Deliver queued updates one by one to the webhook URL; retry with backoff on failure."""
        if self._client is None:
            self._client = ClientSession(timeout=ClientTimeout(total=60))
        backoff = 0.1
        while self._webhook is not None and not self.closing:
            if not self._updates:
                if self._update_event is None:
                    self._update_event = asyncio.Event()
                await self._update_event.wait()
                continue
            hook = self._webhook
            update = self._updates[0]
            headers = {"Content-Type": "application/json"}
            if hook["secret_token"]:
                headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
            error: str | None = None
            try:
                async with self._client.post(hook["url"], data=json.dumps(update), headers=headers) as resp:
                    await resp.read()
                    if resp.status >= 300:
                        error = f"Wrong response from the webhook: {resp.status} {resp.reason}"
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # delivery errors are reported via getWebhookInfo, like Telegram
                error = f"Connection error: {type(exc).__name__}"
            if error is None:
                if self._updates and self._updates[0] is update:
                    self._confirm(update["update_id"] + 1)
                backoff = 0.1
            else:
                hook["last_error_date"] = int(time.time())
                hook["last_error_message"] = error
                await self._sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    def _send_message(self, bot_id: int, params: _Params) -> dict[str, Any]:
        user = self._target(params)
        text, entities = self._format(
            params, "text", "entities", TEXT_LIMIT, "Bad Request: message is too long"
        )
        if not text:
            raise ApiError(400, "Bad Request: message text is empty")
        markup, buttons, keyboard = self._markup(params)
        self._check_rate(user.id, params.flag("allow_paid_broadcast"))
        message = self._deliver(
            bot_id, user, text=text, entities=entities, markup=markup, buttons=buttons, keyboard=keyboard
        )
        return message.raw

    def _send_media(self, bot_id: int, params: _Params, kind: str) -> dict[str, Any]:
        user = self._target(params)
        caption, caption_entities = self._format(
            params, "caption", "caption_entities", CAPTION_LIMIT, "Bad Request: message caption is too long"
        )
        markup, buttons, keyboard = self._markup(params)
        record = self._resolve_file(params, kind, kind)
        self._check_rate(user.id, params.flag("allow_paid_broadcast"))
        message = self._deliver(
            bot_id,
            user,
            caption=caption or None,
            caption_entities=caption_entities,
            markup=markup,
            buttons=buttons,
            keyboard=keyboard,
            document=record if kind == "document" else None,
            photo=record if kind == "photo" else None,
        )
        return message.raw

    def _send_document(self, bot_id: int, params: _Params) -> dict[str, Any]:
        return self._send_media(bot_id, params, "document")

    def _send_photo(self, bot_id: int, params: _Params) -> dict[str, Any]:
        return self._send_media(bot_id, params, "photo")

    def _source_message(self, params: _Params, missing: str) -> ChatMessage:
        raw = params.get("from_chat_id")
        try:
            source_user = self._users.get(int(raw)) if raw is not None else None
        except (TypeError, ValueError):
            source_user = None
        if source_user is None or not source_user.started:
            raise ApiError(400, "Bad Request: chat not found")
        return self._message_of(source_user, params, missing)

    def _copy_message(self, bot_id: int, params: _Params) -> dict[str, Any]:
        user = self._target(params)
        source = self._source_message(params, "Bad Request: message to copy not found")
        markup, buttons, keyboard = self._markup(params)
        if params.get("reply_markup") is None:
            markup = source.raw.get("reply_markup")
            buttons = source.buttons
        caption, caption_entities = source.caption, source.entities if source.caption else None
        if params.get("caption") is not None:
            caption, caption_entities = self._format(
                params,
                "caption",
                "caption_entities",
                CAPTION_LIMIT,
                "Bad Request: message caption is too long",
            )
        self._check_rate(user.id, params.flag("allow_paid_broadcast"))
        message = self._deliver(
            bot_id,
            user,
            text=source.text,
            entities=source.entities if source.text is not None else None,
            caption=caption,
            caption_entities=caption_entities,
            markup=markup,
            buttons=buttons,
            keyboard=keyboard,
            document=source.document,
            photo=source.photo,
        )
        return {"message_id": message.message_id}

    def _forward_message(self, bot_id: int, params: _Params) -> dict[str, Any]:
        user = self._target(params)
        source = self._source_message(params, "Bad Request: message to forward not found")
        self._check_rate(user.id, params.flag("allow_paid_broadcast"))
        sender = source.raw.get("from", {})
        origin = {"type": "user", "sender_user": sender, "date": source.date}
        message = self._deliver(
            bot_id,
            user,
            text=source.text,
            entities=source.entities if source.text is not None else None,
            caption=source.caption,
            caption_entities=source.entities if source.caption else None,
            document=source.document,
            photo=source.photo,
            extra={"forward_origin": origin},
        )
        return message.raw

    def _apply_edit(self, message: ChatMessage, user: SimUser) -> dict[str, Any]:
        message.edited = True
        message.edit_count += 1
        message.raw["edit_date"] = int(time.time())
        user.notify()
        return message.raw

    def _editable(self, params: _Params) -> tuple[SimUser, ChatMessage]:
        if params.get("inline_message_id") is not None:
            raise ApiError(400, "Bad Request: message to edit not found")
        user = self._target(params)
        message = self._message_of(user, params, "Bad Request: message to edit not found")
        if not message.from_bot:
            raise ApiError(400, "Bad Request: message can't be edited")
        return user, message

    def _edit_message_text(self, bot_id: int, params: _Params) -> dict[str, Any]:
        user, message = self._editable(params)
        text, entities = self._format(
            params, "text", "entities", TEXT_LIMIT, "Bad Request: message is too long"
        )
        if not text:
            raise ApiError(400, "Bad Request: message text is empty")
        if message.text is None:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        markup, buttons, keyboard = self._markup(params)
        if keyboard is not None:
            raise ApiError(400, "Bad Request: inline keyboard expected")
        if (
            text == message.text
            and entities == message.entities
            and markup == message.raw.get("reply_markup")
        ):
            raise ApiError(400, NOT_MODIFIED)
        message.text = text
        message.entities = entities
        message.html = render_html(text, entities)
        message.buttons = buttons
        message.raw["text"] = text
        if entities:
            message.raw["entities"] = entities
        else:
            message.raw.pop("entities", None)
        if markup is not None:
            message.raw["reply_markup"] = markup
        else:
            message.raw.pop("reply_markup", None)
        return self._apply_edit(message, user)

    def _edit_message_caption(self, bot_id: int, params: _Params) -> dict[str, Any]:
        user, message = self._editable(params)
        if message.document is None and message.photo is None:
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        caption, entities = self._format(
            params, "caption", "caption_entities", CAPTION_LIMIT, "Bad Request: message caption is too long"
        )
        markup, buttons, _ = self._markup(params)
        if (
            (caption or None) == message.caption
            and entities == message.entities
            and (markup == message.raw.get("reply_markup"))
        ):
            raise ApiError(400, NOT_MODIFIED)
        message.caption = caption or None
        message.entities = entities
        message.html = render_html(caption, entities)
        message.buttons = buttons
        for key, value in (("caption", caption), ("caption_entities", entities), ("reply_markup", markup)):
            if value:
                message.raw[key] = value
            else:
                message.raw.pop(key, None)
        return self._apply_edit(message, user)

    def _edit_message_reply_markup(self, bot_id: int, params: _Params) -> dict[str, Any]:
        user, message = self._editable(params)
        markup, buttons, keyboard = self._markup(params)
        if keyboard is not None:
            raise ApiError(400, "Bad Request: inline keyboard expected")
        if markup == message.raw.get("reply_markup"):
            raise ApiError(400, NOT_MODIFIED)
        message.buttons = buttons
        if markup is not None:
            message.raw["reply_markup"] = markup
        else:
            message.raw.pop("reply_markup", None)
        return self._apply_edit(message, user)

    def _delete_message(self, bot_id: int, params: _Params) -> bool:
        user = self._target(params, check_blocked=False)
        message = self._message_of(user, params, "Bad Request: message to delete not found")
        del user.messages[message.message_id]
        user.notify()
        return True

    def _delete_messages(self, bot_id: int, params: _Params) -> bool:
        user = self._target(params, check_blocked=False)
        ids = params.obj("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise ApiError(400, "Bad Request: message identifiers are not specified")
        for mid in ids:
            user.messages.pop(int(mid), None)
        user.notify()
        return True

    def _answer_callback_query(self, bot_id: int, params: _Params) -> bool:
        query_id = params.text("callback_query_id") or ""
        record = self._callbacks.get(query_id)
        if (
            record is None
            or record.answered
            or time.monotonic() - record.created > self.config.callback_query_ttl
        ):
            raise ApiError(400, QUERY_TOO_OLD)
        text = params.text("text")
        if text is not None and len(text) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        record.answered = True
        answer = CallbackAnswer(query_id, text or None, params.flag("show_alert"), params.text("url"))
        record.user.callback_answers.append(answer)
        record.user.notify()
        return True

    def _get_file(self, bot_id: int, params: _Params) -> dict[str, Any]:
        file_id = params.text("file_id") or ""
        record = self._files.get(file_id)
        if record is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "file_size": record.size,
            "file_path": record.file_path,
        }

    def _set_my_commands(self, bot_id: int, params: _Params) -> bool:
        commands = params.obj("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        clean: list[dict[str, str]] = []
        for item in commands:
            if not isinstance(item, dict):
                raise ApiError(400, "Bad Request: can't parse BotCommand JSON object")
            command = str(item.get("command", "")).lstrip("/")
            description = str(item.get("description", ""))
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise ApiError(400, "Bad Request: command description must be non-empty")
            clean.append({"command": command, "description": description})
        key = (self._scope_key(params.obj("scope")), params.text("language_code") or "")
        if clean:
            self._commands[key] = clean
        else:
            self._commands.pop(key, None)
        return True

    def _get_my_commands(self, bot_id: int, params: _Params) -> list[dict[str, str]]:
        key = (self._scope_key(params.obj("scope")), params.text("language_code") or "")
        return list(self._commands.get(key, []))

    def _delete_my_commands(self, bot_id: int, params: _Params) -> bool:
        key = (self._scope_key(params.obj("scope")), params.text("language_code") or "")
        self._commands.pop(key, None)
        return True

    def _send_chat_action(self, bot_id: int, params: _Params) -> bool:
        self._target(params)
        return True

    def _get_chat(self, bot_id: int, params: _Params) -> dict[str, Any]:
        user = self._target(params, check_blocked=False)
        chat = dict(user.chat_dict())
        chat["accent_color_id"] = 0
        chat["max_reaction_count"] = 11
        chat["accepted_gift_types"] = {
            "unlimited_gifts": True,
            "limited_gifts": True,
            "unique_gifts": True,
            "premium_subscription": True,
            "gifts_from_channels": True,
        }
        return chat
