"""Following one more ward: type its name, pick it."""

from __future__ import annotations

from models.conversation import FlowName
from services.conversation.dialog import Button, Reply
from services.conversation.flow import Flow, Turn
from services.core.i18n import _
from services.donors import follows
from services.drives import citizen
from services.knowledge.old_addresses import look_up_ward, preload
from services.knowledge.wards import get_ward


class FollowFlow(Flow):
    """One step: which ward to follow."""

    name = FlowName.FOLLOW
    prefixes = ("fw",)

    async def begin(self, t: Turn) -> list[Reply]:
        """Ask for the ward."""
        await t.goto(FlowName.FOLLOW, "ward", {})
        return await self.prompt(t)

    async def prompt(self, t: Turn) -> list[Reply]:
        """The question (and the old names' index starts loading while the person types)."""
        preload()
        return [
            Reply(_("Which ward do you want to follow? Type its name (e.g. “phuong hoan kiem”)."))
        ]

    async def on_text(self, t: Turn, text: str) -> list[Reply]:
        """Candidates as buttons; an old address says what its ward became."""
        found = look_up_ward(text, district=t.data.get("old_district"))
        if found.district:  # a district alone: read the next answer inside it
            await t.goto(FlowName.FOLLOW, "ward", {**t.data, "old_district": found.district})
        if found.wards:
            rows = [[Button(w.label, f"fw:{w.province_code}:{w.code}")] for w in found.wards]
            return [Reply("\n".join([*found.notes, _("Which one?")]), rows)]
        if found.notes:
            return [Reply("\n".join(found.notes))]
        sorry = _("I could not find “{text}”. Please try another spelling, with the province.")
        return [Reply(sorry.format(text=text.strip()[:40])), *await self.prompt(t)]

    async def on_choice(self, t: Turn, data: str) -> list[Reply] | None:
        """Follow the picked ward, then show the list."""
        _prefix, province, code = (data.split(":") + ["", ""])[:3]
        ward = get_ward(province, code)
        if ward is None:
            return None
        await follows.follow(t.session, t.me.id or 0, province, code)
        await t.close()
        done = Reply(_("You now follow {ward}.").format(ward=ward.label))
        return [done, *await citizen.wards_menu(t)]

    async def on_back(self, t: Turn) -> list[Reply]:
        """Nothing before: leave."""
        await t.close()
        return await citizen.wards_menu(t)

    async def on_cancel(self, t: Turn) -> str:
        """Leave."""
        await t.close()
        return _("Nothing changed.")
