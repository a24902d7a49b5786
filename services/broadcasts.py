"""Broadcasts: a draft, its server-computed audience, queueing into the outbox, cancelling, acknowledgements
and the author's delivery report (live while sending, final at the end).

No aiogram here: the delivery process (`python -m bot.deliver`) renders broadcasts and edits the live
report with this module alone. Texts take the translation `_` of their reader's language (the bot's
handlers pass aiogram's `gettext`, renderers a `Catalogs` translator), and buttons are plain dicts whose
callback data is what `bot.callbacks` would pack (a test keeps them equal).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, String, case, cast, func, literal, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.catalogs import Catalogs, Translate
from models import Broadcast, BroadcastStatus, Outbox, OutboxStatus, Priority, User
from models.base import utcnow
from services import broadcast_audience
from services.broadcast_audience import AudienceFilter
from services.delivery import OutgoingMessage, Renderer
from services.delivery_http import LeanBotApi, MethodUrl
from services.outbox import enqueue

log = logging.getLogger(__name__)

KIND = "broadcast"
REPORT_KIND = "broadcast_report"
TEXT_LIMIT = 3500  # Telegram allows 4096; room for the heading
CAPTION_LIMIT = 900  # Telegram allows 1024
CANCELLED = "cancelled"
# Rows that did not go because the author stopped the broadcast: still queued ("cancelled"), or already
# claimed by the engine and found obsolete when rendered ("obsolete").
STOPPED = (CANCELLED, "obsolete")


class BroadcastError(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Report:
    total: int
    delivered: int
    acknowledged: int
    blocked: int
    failed: int
    cancelled: int
    pending: int


def check_content(plain_length: int, media_kind: str | None) -> None:
    """Telegram's limits, checked before the author confirms (plain length, after formatting)."""
    if plain_length == 0 and media_kind is None:
        raise BroadcastError("empty")
    if plain_length > (CAPTION_LIMIT if media_kind else TEXT_LIMIT):
        raise BroadcastError("too_long")


async def create_draft(
    session: AsyncSession,
    author: User,
    chosen: AudienceFilter,
    *,
    text: str,
    plain_length: int,
    media_kind: str | None = None,
    media_file_id: str | None = None,
    ack_required: bool = False,
) -> Broadcast:
    """Authorize the audience on the server, count it and keep the draft until the author confirms."""
    check_content(plain_length, media_kind)
    if media_kind not in (None, "photo", "document") or (media_kind is None) != (media_file_id is None):
        raise BroadcastError("media")
    audience = await broadcast_audience.authorize(session, author.id, chosen)
    draft = Broadcast(
        author_id=author.id,
        audience=audience.to_json(),
        text=text,
        media_kind=media_kind,
        media_file_id=media_file_id,
        ack_required=ack_required,
        status=BroadcastStatus.draft,
        recipients=await broadcast_audience.count(session, audience, author.id),
    )
    session.add(draft)
    await session.flush()
    return draft


async def own_broadcast(session: AsyncSession, broadcast_id: int, author_id: int) -> Broadcast:
    """The broadcast if `author_id` wrote it (callback data carries only the id)."""
    broadcast = await session.get(Broadcast, broadcast_id)
    if broadcast is None or broadcast.author_id != author_id:
        raise BroadcastError("not_found")
    return broadcast


def _insert(session: AsyncSession) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Outbox)


async def start(
    session: AsyncSession, broadcast_id: int, author_id: int, report_message_id: int | None
) -> int:
    """Queue one outbox row per recipient, in the database, in one statement; returns how many.

    The audience is authorized and computed again now: roles may have changed since the preview.
    Starting twice queues nothing more (the row keys are unique).
    """
    broadcast = await own_broadcast(session, broadcast_id, author_id)
    if broadcast.status is not BroadcastStatus.draft:
        raise BroadcastError("not_draft")
    audience = await broadcast_audience.authorize(
        session, author_id, AudienceFilter.from_json(broadcast.audience)
    )
    now = utcnow()
    sub = broadcast_audience.recipients(audience, author_id).subquery()
    rows = select(
        literal(f"bc:{broadcast.id}:") + cast(sub.c.id, String),
        sub.c.id,
        sub.c.telegram_id,
        literal(KIND),
        literal(broadcast.id),
        literal({}, JSON),
        literal(int(Priority.broadcast)),
        literal(OutboxStatus.pending.value),
        literal(0),
        literal(now, Outbox.not_before.type),
        literal(now, Outbox.created_at.type),
    ).where(true())  # SQLite needs a WHERE before ON CONFLICT in INSERT ... SELECT
    columns = [
        "key", "user_id", "chat_id", "kind", "broadcast_id", "payload", "priority", "status", "attempts",
        "not_before", "created_at",
    ]  # fmt: skip
    stmt = _insert(session).from_select(columns, rows).on_conflict_do_nothing(index_elements=["key"])
    result = await session.execute(stmt)
    queued = int(getattr(result, "rowcount", 0) or 0)
    broadcast.status = BroadcastStatus.sending
    broadcast.recipients = queued
    broadcast.started_at = now
    broadcast.report_message_id = report_message_id
    if queued == 0:
        broadcast.status = BroadcastStatus.done
        broadcast.finished_at = now
    await session.flush()
    return queued


async def cancel(session: AsyncSession, broadcast_id: int, author_id: int) -> int:
    """Stop what has not been sent yet; returns how many messages will not go."""
    broadcast = await own_broadcast(session, broadcast_id, author_id)
    if broadcast.status not in (BroadcastStatus.draft, BroadcastStatus.sending):
        raise BroadcastError("finished")
    result = await session.execute(
        update(Outbox)
        .where(Outbox.broadcast_id == broadcast.id, Outbox.status == OutboxStatus.pending)
        .values(status=OutboxStatus.failed, last_error=CANCELLED)
    )
    broadcast.status = BroadcastStatus.cancelled
    broadcast.finished_at = utcnow()
    await session.flush()
    return int(getattr(result, "rowcount", 0) or 0)


async def acknowledge(session: AsyncSession, broadcast_id: int, chat_id: int) -> bool:
    """Record «read» for the presser's own copy only; False if they were not a recipient."""
    row = await session.scalar(
        select(Outbox).where(
            Outbox.broadcast_id == broadcast_id, Outbox.chat_id == chat_id, Outbox.kind == KIND
        )
    )
    if row is None or row.status is not OutboxStatus.sent:
        return False
    if row.acknowledged_at is None:
        row.acknowledged_at = utcnow()
        await session.flush()
    return True


async def report(session: AsyncSession, broadcast_id: int) -> Report:
    status = Outbox.status
    query = select(
        func.count(),
        func.sum(case((status == OutboxStatus.sent, 1), else_=0)),
        func.sum(case((Outbox.acknowledged_at.is_not(None), 1), else_=0)),
        func.sum(case((status == OutboxStatus.undeliverable, 1), else_=0)),
        func.sum(
            case(
                ((status == OutboxStatus.failed) & func.coalesce(Outbox.last_error, "").not_in(STOPPED), 1),
                else_=0,
            )
        ),
        func.sum(case(((status == OutboxStatus.failed) & Outbox.last_error.in_(STOPPED), 1), else_=0)),
        func.sum(case((status.in_([OutboxStatus.pending, OutboxStatus.sending]), 1), else_=0)),
    ).where(Outbox.broadcast_id == broadcast_id)
    row = (await session.execute(query)).one()
    values = [int(v or 0) for v in row]
    return Report(*values)


async def finish_if_done(session: AsyncSession, broadcast: Broadcast, counts: Report) -> bool:
    """Mark a sending broadcast done once nothing is pending; queue the final report for the author once."""
    if broadcast.status is not BroadcastStatus.sending or counts.pending:
        return False
    broadcast.status = BroadcastStatus.done
    broadcast.finished_at = utcnow()
    author = await session.get(User, broadcast.author_id) if broadcast.author_id else None
    if author is not None:
        await enqueue(
            session,
            key=f"bcdone:{broadcast.id}",
            chat_id=author.telegram_id,
            user_id=author.id,
            kind=REPORT_KIND,
            payload={"broadcast_id": broadcast.id},
            priority=Priority.personal,
        )
    await session.flush()
    return True


# --- texts and buttons -------------------------------------------------------------------------------


def ack_callback_data(broadcast_id: int) -> str:
    """`BroadcastAckCb(id=broadcast_id).pack()`, without aiogram."""
    return f"ba:{broadcast_id}"


def stop_callback_data(broadcast_id: int) -> str:
    """`BroadcastCb(action="stop", id=broadcast_id).pack()`, without aiogram."""
    return f"bc:stop:{broadcast_id}"


def _keyboard(text: str, callback_data: str) -> dict[str, Any]:
    return {"inline_keyboard": [[{"text": text, "callback_data": callback_data}]]}


def audience_text(_: Translate, audience: AudienceFilter, school_name: str | None) -> str:
    """One line naming the audience."""
    names = {"student": _("pupils"), "parent": _("parents"), "teacher": _("teachers")}
    who = ", ".join(names[r] for r in audience.roles if r in names)
    if audience.scope == "classes":
        grades = ", ".join(str(g) for g in audience.grades)
        return _("{who} of your classes (grades {grades})").format(who=who, grades=grades)
    if audience.scope == "school":
        return _("{who} of the whole school").format(who=who)
    where = school_name or _("all schools of the municipality")
    grades_text = (
        _("all grades")
        if (audience.grade_min, audience.grade_max) == (1, 11)
        else _("grades {low}–{high}").format(low=audience.grade_min, high=audience.grade_max)
    )
    return _("{who}, {grades}, {where}").format(who=who, grades=grades_text, where=where)


def report_text(_: Translate, broadcast: Broadcast, counts: Report) -> str:
    """The author's delivery report."""
    if broadcast.status is BroadcastStatus.cancelled:
        state = _("Stopped by the author.")
    elif broadcast.status is BroadcastStatus.done:
        state = _("Finished.")
    else:
        state = _("Sending…")
    lines = [
        _("📤 <b>Broadcast #{id}</b> — {state}").format(id=broadcast.id, state=state),
        _("Recipients: {n}").format(n=broadcast.recipients),
        _("✅ Delivered: {n}").format(n=counts.delivered),
    ]
    if broadcast.ack_required:
        lines.append(_("👁 Acknowledged: {n}").format(n=counts.acknowledged))
    lines += [
        _("🚫 Blocked the bot or never started it: {n}").format(n=counts.blocked),
        _("⚠️ Failed: {n}").format(n=counts.failed),
        _("⏳ Pending: {n}").format(n=counts.pending),
    ]
    if counts.cancelled:
        lines.append(_("⛔ Not sent (stopped): {n}").format(n=counts.cancelled))
    return "\n".join(lines)


def report_keyboard(_: Translate, broadcast: Broadcast) -> dict[str, Any] | None:
    """«Stop» while sending; nothing once finished (an edit without it removes the button)."""
    if broadcast.status is not BroadcastStatus.sending:
        return None
    return _keyboard(_("⛔ Stop the broadcast"), stop_callback_data(broadcast.id))


def broadcast_message(_: Translate, broadcast: Broadcast) -> OutgoingMessage:
    """What a recipient gets, and the author's preview (the author's text is their own HTML)."""
    text = _("📢 <b>Announcement</b>") + "\n\n" + broadcast.text
    markup = None
    if broadcast.ack_required:
        markup = _keyboard(_("✅ I have read it"), ack_callback_data(broadcast.id))
    return OutgoingMessage(
        text=text,
        reply_markup=markup,
        photo=broadcast.media_file_id if broadcast.media_kind == "photo" else None,
        document=broadcast.media_file_id if broadcast.media_kind == "document" else None,
    )


# --- renderers and the live report -------------------------------------------------------------------


async def _languages(session: AsyncSession, rows: Sequence[Outbox]) -> dict[int, str | None]:
    user_ids = {r.user_id for r in rows if r.user_id is not None}
    return dict((await session.execute(select(User.id, User.language).where(User.id.in_(user_ids)))).all())


def broadcast_renderer(catalogs: Catalogs) -> Renderer:
    """A broadcast in each recipient's language; obsolete once the author stopped it."""

    async def render(session: AsyncSession, rows: Sequence[Outbox]) -> dict[int, OutgoingMessage | None]:
        ids = {r.broadcast_id for r in rows if r.broadcast_id is not None}
        found = (await session.scalars(select(Broadcast).where(Broadcast.id.in_(ids)))).all()
        broadcasts = {b.id: b for b in found}
        languages = await _languages(session, rows)
        cache: dict[tuple[int, str | None], OutgoingMessage] = {}
        result: dict[int, OutgoingMessage | None] = {}
        for row in rows:
            broadcast = broadcasts.get(row.broadcast_id or 0)
            if broadcast is None or broadcast.status is BroadcastStatus.cancelled:
                result[row.id] = None
                continue
            key = (broadcast.id, languages.get(row.user_id or 0))
            if key not in cache:
                cache[key] = broadcast_message(catalogs.translator(key[1]), broadcast)
            result[row.id] = cache[key]
        return result

    return render


def report_renderer(catalogs: Catalogs) -> Renderer:
    """The final delivery report, sent to the author as a new message when a broadcast finishes."""

    async def render(session: AsyncSession, rows: Sequence[Outbox]) -> dict[int, OutgoingMessage | None]:
        languages = await _languages(session, rows)
        result: dict[int, OutgoingMessage | None] = {}
        for row in rows:
            broadcast = await session.get(Broadcast, int(row.payload.get("broadcast_id", 0)))
            if broadcast is None:
                result[row.id] = None
                continue
            counts = await report(session, broadcast.id)
            _ = catalogs.translator(languages.get(row.user_id or 0))
            result[row.id] = OutgoingMessage(report_text(_, broadcast, counts))
        return result

    return render


class ReportRefresher:
    """Keeps each author's report message up to date while their broadcast is being delivered.

    Called by the delivery engine after it settles rows of broadcasts (and by the bot after a stop or an
    acknowledgement); edits at most every `min_interval` seconds per broadcast, and always when the
    broadcast has finished. Edits are one JSON POST to `editMessageText` over a lean client, so the
    delivery process needs no aiogram `Bot`.
    """

    def __init__(
        self,
        method_url: MethodUrl,
        sessions: async_sessionmaker[AsyncSession],
        catalogs: Catalogs,
        min_interval: float = 2.0,
        request_timeout: float = 15.0,
    ):
        self.api = LeanBotApi(method_url, pool=4)
        self.sessions = sessions
        self.catalogs = catalogs
        self.min_interval = min_interval
        self.request_timeout = request_timeout
        self._edited: dict[int, float] = {}
        self._trailing: dict[int, asyncio.Task[None]] = {}

    def _schedule_trailing(self, broadcast_id: int) -> None:
        """A skipped refresh is made up for later, so the report always ends on the latest counts."""
        task = self._trailing.get(broadcast_id)
        if task is not None and not task.done():
            return

        async def later() -> None:
            await asyncio.sleep(self.min_interval)
            try:
                await self.refresh(broadcast_id, force=True)
            except Exception:
                log.exception("refreshing the report of broadcast %s failed", broadcast_id)

        self._trailing[broadcast_id] = asyncio.create_task(later())

    async def __call__(self, broadcast_ids: set[int]) -> None:
        for broadcast_id in sorted(broadcast_ids):
            await self.refresh(broadcast_id)

    async def refresh(self, broadcast_id: int, force: bool = False) -> None:
        # Counting a broadcast's rows is an aggregate over all of them; the engine settles a batch several
        # times a second, so between edits only a trailing refresh is scheduled (it also sees the end).
        recent = time.monotonic() - self._edited.get(broadcast_id, 0.0) < self.min_interval
        if recent and not force:
            self._schedule_trailing(broadcast_id)
            return
        async with self.sessions.begin() as session:
            broadcast = await session.get(Broadcast, broadcast_id)
            if broadcast is None:
                return
            counts = await report(session, broadcast_id)
            finished = await finish_if_done(session, broadcast, counts)
            author = await session.get(User, broadcast.author_id) if broadcast.author_id else None
        self._edited[broadcast_id] = time.monotonic()
        if finished:
            self._edited.pop(broadcast_id, None)
        if author is None or broadcast.report_message_id is None:
            return
        _ = self.catalogs.translator(author.language)
        payload: dict[str, Any] = {
            "chat_id": author.telegram_id,
            "message_id": broadcast.report_message_id,
            "text": report_text(_, broadcast, counts),
            "parse_mode": "HTML",
        }
        markup = report_keyboard(_, broadcast)
        if markup is not None:
            payload["reply_markup"] = markup
        try:
            status, answer = await self.api.post("editMessageText", payload, self.request_timeout)
        except (OSError, TimeoutError) as exc:  # the next settle or the final edit tries again
            log.warning("editing the report of broadcast %s failed: %r", broadcast_id, exc)
            return
        if not (isinstance(answer, dict) and answer.get("ok")):  # "not modified", or the author deleted it
            log.debug("report of broadcast %s not edited: %s %s", broadcast_id, status, answer)

    async def close(self) -> None:
        """Bring the report up to date once more if an edit was deferred, then close the connections."""
        pending = [b for b, task in self._trailing.items() if not task.done()]
        for task in self._trailing.values():
            task.cancel()
        self._trailing.clear()
        for broadcast_id in pending:
            try:
                await self.refresh(broadcast_id, force=True)
            except Exception:
                log.exception("refreshing the report of broadcast %s failed", broadcast_id)
        await self.api.close()
