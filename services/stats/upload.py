"""/plan: staff upload the year's plan as CSV or XLSX, or download a template shaped like the
provincial table. A file is checked line by line; only a wholly valid one replaces the plan, in
one transaction, written to the audit log."""

from __future__ import annotations

import dataclasses
import io
from datetime import date

from models.conversation import FlowName
from services.conversation.buttons import ButtonData
from services.conversation.dialog import Document, Reply, Upload
from services.conversation.flow import Turn
from services.conversation.steps import Accept, Draft, Move, Read, Step, StepFlow, done, stay
from services.core.i18n import _, ngettext
from services.core.labels import number_label
from services.knowledge.wards import get_province
from services.roles import access
from services.roles.refusals import refuse
from services.stats.plan_file import MAX_BYTES, PlanError, PlanFile, read_plan, too_large
from services.stats.plan_store import replace_plan

SHOWN_ERRORS = 15  # the first errors, then "and N more": a whole list would not fit a message
ACTION = access.Action.UPLOAD_PLAN


@dataclasses.dataclass(frozen=True)
class PlanTemplate(ButtonData, kind="plantpl"):
    """Download the plan's template."""

    year: int = 0


class PlanDraft(Draft):
    """Which plan the file is for."""

    province: str | None = None
    year: int | None = None


class PlanUploadFlow(StepFlow[PlanDraft]):
    """One step: the file."""

    name = FlowName.PLAN_UPLOAD
    draft = PlanDraft

    def __init__(self) -> None:
        super().__init__(
            Step(
                "file",
                _ask_file,
                text=_read_text,
                taps=(PlanTemplate,),
                tap=_read_template,
                document=_read_file,
                save=_save,
                use_buttons=lambda: _("Please send the plan as a file (CSV or XLSX)."),
            )
        )

    async def begin(self, t: Turn, args: list[str]) -> list[Reply]:
        """For staff of a province (or an admin naming one: /plan 44 2027)."""
        actor = await t.actor()
        province, year = _target(actor, args, t.today)
        if province is None or not access.allowed(actor, ACTION, province):
            return [refuse(ACTION, province)]
        return await self.start(t, "file", PlanDraft(province=province, year=year), history=[])

    async def before_first(self, t: Turn, draft: PlanDraft) -> list[Reply]:
        await t.close()
        return [Reply(_("Nothing was changed."))]

    async def on_cancel(self, t: Turn) -> str:
        await t.close()
        return _("Nothing was changed.")


def _target(actor: access.Actor, args: list[str], today: date) -> tuple[str | None, int]:
    """The province and year a /plan is for: the staff's province, this year unless given."""
    numbers = [a for a in args if a.isdigit()]
    year = next((int(a) for a in numbers if len(a) == 4), today.year)
    named = next((a for a in numbers if len(a) <= 2 and get_province(a.zfill(2))), None)
    if named is not None:
        return named.zfill(2), year
    provinces = sorted(actor.staff_provinces)
    return (provinces[0] if provinces else None), year


def _province_name(code: str | None) -> str:
    province = get_province(code or "")
    return province.name if province else (code or "")


def _ask_file(t: Turn, draft: PlanDraft) -> list[Reply]:
    text = _(
        "Send the plan of {province} for {year} as a file (CSV or XLSX), shaped like the "
        "provincial table: unit, population, bags before and after conversion, their share of "
        "the population, rounds and planned months. A valid file replaces the current plan. "
        "/cancel to stop."
    ).format(province=_province_name(draft.province), year=draft.year)
    template = PlanTemplate(draft.year or 0).button(_("📄 Download the template"))
    return [Reply(text, [[template]])]


def _read_text(t: Turn, draft: PlanDraft, text: str) -> Read:
    return stay(Reply(_("Please send the plan as a file (CSV or XLSX), not as text.")))


def _read_template(t: Turn, draft: PlanDraft, tapped: PlanTemplate) -> Read:
    template = Document(f"ke-hoach-{draft.year}.xlsx", template_xlsx(), _XLSX)
    return stay(Reply(_("Here is the template: fill in one line per unit."), document=template))


def _read_file(t: Turn, draft: PlanDraft, upload: Upload) -> Read:
    if upload.content is None or upload.size > MAX_BYTES:
        return stay(Reply(too_large(upload.size)))
    plan = read_plan(upload.content, upload.filename)
    if not plan.valid:
        return stay(Reply(errors_text(plan)))
    return Accept((upload.filename, plan))


async def _save(t: Turn, draft: PlanDraft, value: tuple[str, PlanFile]) -> Move:
    """Replace the plan (the turn's transaction: all or nothing) and audit it."""
    filename, plan = value
    actor = await t.actor()
    province, year = draft.province or "", draft.year or t.today.year
    if not access.allowed(actor, ACTION, province):
        return done(refuse(ACTION, province))
    await replace_plan(t.session, province, year, plan.rows, filename, actor.label)
    bags = sum(r.bags for r in plan.rows)
    units = sum(r.units or 0 for r in plan.rows)
    await access.audit(
        t.session, actor, ACTION, f"province {province} / year {year}", units=len(plan.rows)
    )
    await t.close()
    text = ngettext(
        "✅ The plan of {province} for {year} is in place: {n} unit, {bags} bags before "
        "conversion, {converted} units of 250 ml after. See it with /stats.",
        "✅ The plan of {province} for {year} is in place: {n} units, {bags} bags before "
        "conversion, {converted} units of 250 ml after. See it with /stats.",
        len(plan.rows),
    ).format(
        province=_province_name(province),
        year=year,
        n=len(plan.rows),
        bags=number_label(bags),
        converted=number_label(units),
    )
    return done(Reply(text))


def errors_text(plan: PlanFile) -> str:
    """Every error (the first ones), each with its line and column, and that nothing changed."""
    lines = [_("The plan was not changed: the file needs these fixes.")]
    for error in plan.errors[:SHOWN_ERRORS]:
        lines.append("• " + _error_line(error))
    if len(plan.errors) > SHOWN_ERRORS:
        lines.append(_("…and {n} more.").format(n=len(plan.errors) - SHOWN_ERRORS))
    lines.append(_("Fix them and send the file again."))
    return "\n".join(lines)


def _error_line(error: PlanError) -> str:
    if error.line and error.column:
        return _("Line {line}, {column}: {reason}").format(
            line=error.line, column=error.column, reason=error.reason
        )
    if error.line:
        return _("Line {line}: {reason}").format(line=error.line, reason=error.reason)
    return error.reason


_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def template_xlsx() -> bytes:
    """The template: the provincial table's two header rows (merged cells) and an example."""
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("Kế hoạch")
    head = book.add_format({"bold": True, "align": "center", "valign": "vcenter", "border": 1})
    wrap = book.add_format({"bold": True, "text_wrap": True, "align": "center", "border": 1})
    for col, title in enumerate(["TT", "Đơn vị", "Dân số (Người)"]):
        sheet.merge_range(0, col, 1, col, title, head)
    sheet.merge_range(0, 3, 0, 4, "Trước quy đổi", head)
    sheet.merge_range(0, 5, 0, 6, "Sau quy đổi", head)
    for col in (3, 5):
        sheet.write(1, col, "Số đơn vị máu tiếp nhận", wrap)
        sheet.write(1, col + 1, "Tỷ lệ % dân số", wrap)
    sheet.merge_range(0, 7, 1, 7, "Số đợt vận động", head)
    sheet.merge_range(0, 8, 1, 8, "Dự kiến thời gian (Tháng/năm)", head)
    sheet.write_row(2, 0, [1, "Phường Đông Hà", 92592, 1019, "1,10", 1141, "1,23", 3])
    sheet.write(2, 8, "Tháng 3, 7, 10/2027")
    sheet.set_column(1, 1, 28)
    sheet.set_column(2, 7, 14)
    sheet.set_column(8, 8, 26)
    book.close()
    return buffer.getvalue()
