"""The pure parts of linking a customer to a LINE userId: link codes, signed tokens, LINE URLs, QR codes.

Two ways in (docs/channels.md, "LINE: linking customers"):

* **Link code** — the Customer 360 shows a QR code per customer. It opens the shop's LINE account
  (`https://line.me/R/oaMessage/@basicid/?…`) with a prefilled message carrying a one-time code
  (8 characters from an alphabet without 0/O/1/I, shown as ABCD-EFGH). When that text arrives in a
  `message` event, the sender's userId is linked to the customer. Staff can also read the code out
  at the counter and the customer types it on the link page below.
* **Signed link** — the generic counter QR code only adds the account as a friend. On `follow`, the
  bot sends a link to a public page `/line/link/<token>/`; the token is signed (tenant, userId), so
  the page knows the shop and the LINE user without a login, and the customer enters the code the
  counter gives them, or their phone number and plate number.

Codes are stored as an HMAC over (tenant, code), never in clear, so a code of shop A means nothing
at shop B even before the tenant-scoped lookup.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from urllib.parse import quote

import segno
from django.core import signing
from django.utils.crypto import salted_hmac
from django.utils.safestring import SafeString, mark_safe

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # 32 symbols: no 0/O, 1/I to misread
CODE_LENGTH = 8  # 40 bits: guessing one of a shop's open codes by message is hopeless
CODE_VALID_DAYS = 14
CODE_HASH_SALT = "channels.line.link_code"
LINK_TOKEN_SALT = "channels.line.link"  # noqa: S105 — a signing salt, not a secret
LINK_TOKEN_MAX_AGE = 3 * 24 * 3600  # the customer opens it right after following, at the counter
WEBHOOK_KEY_SALT = "channels.line.webhook"
# Only short texts are read as a code, so a long message that happens to contain one stays a message.
MAX_CODE_MESSAGE_LENGTH = 80

_CODE_CHAR = f"[{CODE_ALPHABET}]"
_CODE_IN_TEXT = re.compile(rf"(?<![A-Z0-9]){_CODE_CHAR}{{4}}[-\s]?{_CODE_CHAR}{{4}}(?![A-Z0-9])")


def link_code_new() -> str:
    """A fresh code, e.g. "K7PQ-3MZA" (the hyphen is for reading; matching ignores it)."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def link_code_normalize(text: str) -> str:
    """Full-width to half-width (NFKC), upper case, no spaces or hyphens: what a customer typed → code."""
    folded = unicodedata.normalize("NFKC", text).upper()
    return re.sub(r"[\s\-ー‐−]", "", folded)


def link_code_candidates(text: str) -> list[str]:
    """The codes a short message may carry (normalised), in order; [] for longer messages."""
    folded = unicodedata.normalize("NFKC", text).upper()
    if len(folded) > MAX_CODE_MESSAGE_LENGTH:
        return []
    return [link_code_normalize(match) for match in _CODE_IN_TEXT.findall(folded)]


def link_code_hash(*, tenant_id: int, code: str) -> str:
    """The stored form of a code: an HMAC (keyed by SECRET_KEY) over the tenant and the normalised code."""
    return salted_hmac(CODE_HASH_SALT, f"{int(tenant_id)}:{link_code_normalize(code)}").hexdigest()


def link_token_make(*, tenant_id: int, line_user_id: str) -> str:
    """The signed token of the link page sent to a LINE user after they follow the shop."""
    return signing.dumps({"t": int(tenant_id), "u": line_user_id}, salt=LINK_TOKEN_SALT, compress=True)


def link_token_read(token: str) -> tuple[int, str]:
    """(tenant id, LINE userId) of a link token. Raises signing.BadSignature (incl. expired)."""
    data = signing.loads(token, salt=LINK_TOKEN_SALT, max_age=LINK_TOKEN_MAX_AGE)
    if not isinstance(data, dict) or not isinstance(data.get("t"), int) or not isinstance(data.get("u"), str):
        raise signing.BadSignature("malformed link token")
    return data["t"], data["u"]


def webhook_key_for(tenant_id: int) -> str:
    """The shop's part of its webhook URL: the tenant id signed with SECRET_KEY (stable, unforgeable).

    The key only says which shop's channel secret checks the signature; it is not the secret itself,
    so a leaked URL lets nobody post an event (the body must still be signed with that shop's secret).
    """
    return signing.Signer(salt=WEBHOOK_KEY_SALT).sign_object(int(tenant_id))


def webhook_key_read(key: str) -> int:
    """The tenant id of a webhook key. Raises signing.BadSignature."""
    tenant_id = signing.Signer(salt=WEBHOOK_KEY_SALT).unsign_object(key)
    if not isinstance(tenant_id, int) or isinstance(tenant_id, bool):
        raise signing.BadSignature("malformed webhook key")
    return tenant_id


def basic_id_normalize(basic_id: str) -> str:
    """ "abc1234" or "@abc1234" → "@abc1234" (LINE's URLs want the @)."""
    basic_id = basic_id.strip()
    if basic_id and not basic_id.startswith("@"):
        basic_id = f"@{basic_id}"
    return basic_id


def add_friend_url(basic_id: str) -> str:
    """LINE's add-friend link of the shop's account (the generic counter QR code)."""
    return f"https://line.me/R/ti/p/{quote(basic_id_normalize(basic_id), safe='@')}"


def prefilled_message_url(basic_id: str, text: str) -> str:
    """Opens the chat with the shop's account with `text` typed in, ready to send."""
    return f"https://line.me/R/oaMessage/{quote(basic_id_normalize(basic_id), safe='@')}/?{quote(text)}"


def qr_svg(data: str, *, title: str) -> SafeString:
    """`data` as an inline SVG QR code, drawn on the server (like crm.security.twofactor's set-up)."""
    svg = segno.make(data, error="m").svg_inline(scale=4, light="#fff", title=title)
    return mark_safe(svg)  # noqa: S308 — SVG generated by segno from our own data; the title is escaped by segno
