"""Secrets at rest: the shops' LINE and SMS credentials, encrypted with Fernet (AES-128-CBC + HMAC).

The key is `CHANNELS_ENCRYPTION_KEY` (a Fernet key, or several comma-separated: the first encrypts,
all decrypt, so a key can be rotated), else one derived from SECRET_KEY with HKDF. A stolen database
dump alone does not reveal the tokens; stolen settings and database together do (as for any
application-level encryption).
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with the configured keys (key changed without rotation)."""


def _derived_key() -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"kizuna.channels.secrets", info=b"fernet")
    return base64.urlsafe_b64encode(hkdf.derive(settings.SECRET_KEY.encode()))


def _fernet() -> MultiFernet:
    configured = [k.strip() for k in getattr(settings, "CHANNELS_ENCRYPTION_KEY", "").split(",") if k.strip()]
    keys = [Fernet(k) for k in configured]
    keys.append(Fernet(_derived_key()))  # rows written before a dedicated key was set stay readable
    return MultiFernet(keys)


def encrypt_secret(value: str) -> str:
    if not value:
        return ""
    return _fernet().encrypt(value.encode()).decode("ascii")


def decrypt_secret(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode()
    except InvalidToken as exc:
        raise SecretUnreadable("stored secret cannot be decrypted with the configured keys") from exc
