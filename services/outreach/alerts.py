"""Telling the administrators that a channel stopped working: its token was refused (issue 12).

A platform that answers 401 has revoked or never known the bot's token: nothing goes out on that
channel until whoever runs the bot puts in a new one. The administrators (ADMIN_TELEGRAM_IDS) are
told on Telegram, through the outbox, in their language, once a day per channel (a restart with
the same bad token does not tell them again).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.conversation.dialog import Reply
from services.core.i18n import _
from services.donors import donor_store
from services.outreach import messages, outbox
from services.outreach.messages import message_kind
from services.roles.access import ADMIN_CHANNEL

TOKEN_REFUSED = "alert.token_refused"


@message_kind(TOKEN_REFUSED)
def token_refused_text(params: dict[str, Any]) -> Reply:
    """What the administrators read: which channel, and what to do."""
    return Reply(
        _(
            "⚠️ {channel} refused the bot's token (it was revoked or is wrong): the bot no "
            "longer answers or sends messages on {channel}, and what it had to send there waits. "
            "Put a new token in {setting} and restart the bot."
        ).format(channel=params.get("channel", "?"), setting=params.get("setting", "?"))
    )


async def token_refused(
    session: AsyncSession,
    admin_ids: frozenset[str],
    channel: str,
    setting: str,
    now: datetime,
    default_locale: str,
) -> int:
    """Queue the alert to every administrator (once a day per channel); how many were new."""
    params = {"channel": channel, "setting": setting}
    day = now.strftime("%Y-%m-%d")
    rows = []
    for admin in sorted(admin_ids):
        donor = await donor_store.get_donor(session, ADMIN_CHANNEL, admin)
        locale = donor.locale if donor is not None else default_locale
        recipient = outbox.Recipient(
            donor.id if donor is not None else None,
            admin,  # a Telegram user's private chat has the user's id
            messages.render(TOKEN_REFUSED, params, locale).text,
            message_key=TOKEN_REFUSED,
            params=params,
            locale=locale,
            channel=ADMIN_CHANNEL,
        )
        key = f"token_refused:{channel.lower()}:{admin}:{day}"
        rows.append(outbox.once_row(recipient, admin, key, now))
    return await outbox.insert_once(session, rows)
