"""The sender's transport for Telegram: python-telegram-bot's Bot without a rate limiter.

The sender paces itself: one message a second per chat, and its turns of the bot's SendBudget
(shared with the replies' BudgetRateLimiter, handlers/telegram/rate_limiter.py) taken before
each request; it reacts to retry_after by pausing that budget.
"""

from __future__ import annotations

from telegram import Bot, InputFile
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from handlers.telegram.markup import markup_for
from services.conversation.dialog import Reply
from services.outreach.transport import Blocked, DocumentNotSent, RateLimited, Rejected, Transient

UPLOAD_BYTES_PER_SECOND = 250_000  # the slowest upload a file's write timeout allows for


def _seconds(value: object) -> float:
    """retry_after is an int or a timedelta depending on PTB's settings."""
    total = getattr(value, "total_seconds", None)
    if callable(total):
        return float(total())
    return float(value) if isinstance(value, int | float) else 5.0


class TelegramTransport:
    """Sends through the Bot API, translating its errors into the sender's outcomes."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, chat_id: str, reply: Reply) -> int:
        """sendMessage with the reply's keyboard (as chat replies render it), then sendDocument
        and sendPhoto."""
        text, document = reply.text, reply.document
        message_id = 0
        if text:
            try:
                message = await self.bot.send_message(chat_id, text, reply_markup=markup_for(reply))
            except Exception as exc:
                raise _translate(exc) from exc
            message_id = message.message_id
        if document is not None:
            try:
                upload = InputFile(document.content, filename=document.filename)
                # An export may be tens of MB: give its upload the time it takes.
                timeout = max(20.0, len(document.content) / UPLOAD_BYTES_PER_SECOND)
                sent = await self.bot.send_document(chat_id, upload, write_timeout=timeout)
            except Exception as exc:
                outcome = _translate(exc)
                raise (DocumentNotSent(outcome) if text else outcome) from exc
            message_id = message_id or sent.message_id
        if reply.image is not None:
            try:
                picture = InputFile(reply.image.content, filename=reply.image.filename)
                shown = await self.bot.send_photo(chat_id, picture)
            except Exception as exc:
                outcome = _translate(exc)
                raise (DocumentNotSent(outcome) if text else outcome) from exc
            message_id = message_id or shown.message_id
        return message_id

    async def edit(self, chat_id: str, message_id: int, text: str) -> None:
        """editMessageText; "message is not modified" is not an error."""
        try:
            await self.bot.edit_message_text(text, chat_id=chat_id, message_id=message_id)
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return
            raise _translate(exc) from exc
        except Exception as exc:
            raise _translate(exc) from exc


def _translate(exc: Exception) -> Exception:
    """PTB's exception → the sender's outcome."""
    if isinstance(exc, RetryAfter):
        return RateLimited(_seconds(exc.retry_after))
    if isinstance(exc, Forbidden):
        return Blocked(str(exc))
    if isinstance(exc, BadRequest):
        return Rejected(str(exc))
    if isinstance(exc, TimedOut | NetworkError):
        return Transient(str(exc))
    return exc
