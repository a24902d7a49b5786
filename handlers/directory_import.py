"""/import: a coordinator loads the directory or pupil counts from a CSV/XLSX document; templates are
sent on request. A file with any bad row is refused whole, with every problem and its line number."""

from __future__ import annotations

import html
import io
from datetime import date

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.audience_callbacks import ImportCb
from bot.filters import HasRole
from handlers.keyboards import rows
from models import Role
from services.directory_import import (
    MAX_BYTES,
    ImportResult,
    Problem,
    import_directory,
    import_pupil_counts,
    template_xlsx,
)
from services.people import Profile

router = Router(name="directory_import")

SHOWN_PROBLEMS = 25


class ImportDialog(StatesGroup):
    waiting = State()


def problem_text(problem: Problem) -> str:
    p = {k: html.escape(str(v)) for k, v in problem.params.items()}
    texts = {
        "empty": _("the file is empty"),
        "no_rows": _("the file has a header but no rows"),
        "too_big": _("the file is too big (at most {mb} MB)"),
        "too_many_rows": _("too many rows (at most {n})"),
        "not_spreadsheet": _("this is not a CSV or XLSX spreadsheet"),
        "bad_columns": _("wrong columns: unknown «{unknown}», missing «{missing}» (see the template)"),
        "empty_cell": _("empty cell in column «{column}»"),
        "bad_type": _(
            "unknown type «{value}» (school, college, university, enterprise, additional education, employment centre, other)"
        ),
        "too_long": _("a name is longer than {n} characters"),
        "bad_timezone": _("unknown time zone «{value}» (use e.g. Europe/Moscow)"),
        "outside_scope": _("«{value}» is outside your municipality"),
        "duplicate": _("the same as line {other}"),
        "unknown_school": _("unknown school «{value}» (load it into the directory first)"),
        "bad_grade": _("grade «{value}» is not from 1 to 11"),
        "bad_pupils": _("number of pupils «{value}» is not a whole number from 0"),
        "bad_year": _("school year «{value}» is not like 2025/2026"),
        "forbidden": _("this is available to coordinators only"),
    }
    text = texts.get(problem.code, _("this row cannot be read")).format(**p)
    if problem.line:
        return _("Line {line}: {text}").format(line=problem.line, text=text)
    return text[:1].upper() + text[1:]


def report(result: ImportResult) -> str:
    if result.ok:
        c = result.created
        if "pupil_counts" in c:
            return _("Imported: pupil counts for {n} school grades.").format(n=c["pupil_counts"])
        return _("Imported: new municipalities {m}, schools {s}, host organisations {o}.").format(
            m=c.get("municipalities", 0), s=c.get("schools", 0), o=c.get("organisations", 0)
        )
    lines = [
        _(
            "The file was not imported: problems found: {n}. Nothing was changed; fix the file and send it again."
        ).format(n=len(result.problems)),
        "",
    ]
    lines += [problem_text(p) for p in result.problems[:SHOWN_PROBLEMS]]
    if len(result.problems) > SHOWN_PROBLEMS:
        lines.append(_("…and {n} more.").format(n=len(result.problems) - SHOWN_PROBLEMS))
    return "\n".join(lines)


@router.message(Command("import"), HasRole(Role.coordinator))
async def begin(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(
        _("What will you load? Both can be CSV or XLSX; take a template to see the columns."),
        reply_markup=rows(
            [
                (_("🏫 Directory: schools and organisations"), ImportCb(action="directory").pack()),
                (_("👥 Pupil counts by grade"), ImportCb(action="pupils").pack()),
                (_("📄 Template: directory"), ImportCb(action="tpl_directory").pack()),
                (_("📄 Template: pupil counts"), ImportCb(action="tpl_pupils").pack()),
            ]
        ),
    )


@router.callback_query(ImportCb.filter(F.action.in_({"directory", "pupils"})), HasRole(Role.coordinator))
async def choose(query: CallbackQuery, callback_data: ImportCb, state: FSMContext) -> None:
    await state.set_state(ImportDialog.waiting)
    await state.update_data(kind=callback_data.action)
    if isinstance(query.message, Message):
        await query.message.edit_text(
            _("Send the file as a document (CSV or XLSX, at most {mb} MB). /cancel to stop.").format(
                mb=MAX_BYTES // (1024 * 1024)
            )
        )
    await query.answer()


@router.callback_query(
    ImportCb.filter(F.action.in_({"tpl_directory", "tpl_pupils"})), HasRole(Role.coordinator)
)
async def template(query: CallbackQuery, callback_data: ImportCb) -> None:
    kind = "pupils" if callback_data.action == "tpl_pupils" else "directory"
    name = "pupil_counts_template.xlsx" if kind == "pupils" else "directory_template.xlsx"
    caption = (
        _("Columns: municipality, school, grade (1–11), pupils, school year (optional).")
        if kind == "pupils"
        else _(
            "Columns: region, municipality, type, name, time zone (optional). Types: school, college, "
            "university, enterprise, additional education, employment centre, other."
        )
    )
    if isinstance(query.message, Message):
        await query.message.answer_document(
            BufferedInputFile(template_xlsx(kind), filename=name), caption=caption
        )
    await query.answer()


@router.message(ImportDialog.waiting, F.document, HasRole(Role.coordinator))
async def receive(
    message: Message, state: FSMContext, session: AsyncSession, profile: Profile, bot: Bot
) -> None:
    document = message.document
    assert document is not None
    kind = (await state.get_data()).get("kind", "directory")
    if document.file_size is not None and document.file_size > MAX_BYTES:
        await message.answer(
            report(ImportResult([Problem(0, "too_big", {"mb": MAX_BYTES // (1024 * 1024)})]))
            + "\n"
            + _("Send a smaller file, or /cancel.")
        )
        return
    buffer = io.BytesIO()
    await bot.download(document, destination=buffer)
    data = buffer.getvalue()
    name = document.file_name or ""
    if kind == "pupils":
        result = await import_pupil_counts(session, profile, name, data, date.today())
    else:
        result = await import_directory(session, profile, name, data)
    if result.ok:
        await state.clear()
        await session.commit()
        await message.answer(report(result))
    else:
        await message.answer(report(result) + "\n\n" + _("Send the corrected file, or /cancel."))


@router.message(ImportDialog.waiting, ~F.text.startswith("/"))
async def not_a_file(message: Message) -> None:
    await message.answer(_("Please send the file as a document (📎), or /cancel."))


@router.message(Command("import"))
async def not_coordinator(message: Message) -> None:
    await message.answer(_("This command is available to coordinators only."))


@router.callback_query(ImportCb.filter())
async def import_refused(query: CallbackQuery) -> None:
    await query.answer(_("This button is out of date or not available to you."), show_alert=True)
