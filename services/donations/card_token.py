"""The donor card's token: who the card is for and its version, signed, inside a start link.

`c_<donor id in hex>v<version>_<HMAC, 9 bytes base64url>`, about 20 characters: within
Telegram's 64-character `start` payload (A-Z a-z 0-9 _ -), and a small QR code. The HMAC key is
derived from the deployment's pseudonym key, so a card cannot be forged from a donor id. Raising
the donor's `card_version` (a rotated card) makes every older card read as nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from sqlmodel.ext.asyncio.session import AsyncSession

from models import Donor

PREFIX = "c_"
MAC_BYTES = 9
_TOKEN = re.compile(r"^c_([0-9a-f]{1,12})v([0-9]{1,6})_([A-Za-z0-9_-]{12})$")


def card_key(pseudonym_key: bytes) -> bytes:
    """The key of the card tokens, apart from every other use of the pseudonym key."""
    return hmac.new(pseudonym_key, b"donor-card", hashlib.sha256).digest()


def _mac(key: bytes, donor_id: int, version: int) -> str:
    digest = hmac.new(key, f"{donor_id}:{version}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:MAC_BYTES]).decode().rstrip("=")


def make_token(key: bytes, donor_id: int, version: int) -> str:
    """The start payload of a donor's card."""
    return f"{PREFIX}{donor_id:x}v{version}_{_mac(key, donor_id, version)}"


def read_token(key: bytes, token: str) -> tuple[int, int] | None:
    """(donor id, version) of a genuine token; None for anything else."""
    match = _TOKEN.match(token)
    if match is None:
        return None
    donor_id, version = int(match.group(1), 16), int(match.group(2))
    if not hmac.compare_digest(match.group(3), _mac(key, donor_id, version)):
        return None
    return donor_id, version


def is_card_payload(payload: str) -> bool:
    """Whether a start payload looks like a card (genuine or not)."""
    return payload.startswith(PREFIX)


async def donor_of_card(session: AsyncSession, key: bytes, token: str) -> Donor | None:
    """The registered donor a current card belongs to; None for a forged, rotated or erased one."""
    read = read_token(key, token)
    if read is None:
        return None
    donor = await session.get(Donor, read[0])
    if donor is None or not donor.is_registered or donor.card_version != read[1]:
        return None
    return donor
