"""Secrets at rest: webhook secrets, WeChat session keys and platform credentials are stored
encrypted (Fernet: AES-128-CBC + HMAC-SHA256, from `cryptography`), with keys from the settings.

Stored values carry a prefix, so a value written before encryption existed is recognised (and
migrated); several keys may be given (the first encrypts, all decrypt), so keys can be rotated.
"""
from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

PREFIX = "fernet:"


class SecretUnreadable(ValueError):
    """A stored secret that none of the configured keys opens (wrong or lost key)."""


class SecretBox:
    def __init__(self, keys: str) -> None:
        """`keys`: comma-separated Fernet keys (urlsafe base64 of 32 bytes); the first encrypts."""
        parsed = [Fernet(k.strip().encode()) for k in keys.split(",") if k.strip()]
        if not parsed:
            raise ValueError("SecretBox needs at least one key")
        self._fernet = MultiFernet(parsed)

    def seal(self, plaintext: str) -> str:
        return PREFIX + self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def open(self, stored: str) -> str:
        """The plaintext of a stored value; a value stored before encryption is returned as is."""
        if not is_sealed(stored):
            return stored
        try:
            return self._fernet.decrypt(stored[len(PREFIX):].encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise SecretUnreadable("无法解密已保存的密钥：LIVEBOARD_SECRETS_KEY 与加密时不一致") from None

    def rotate(self, stored: str) -> str:
        """Re-encrypted under the first key (a plain legacy value gets sealed)."""
        return self.seal(self.open(stored))


def is_sealed(stored: str | None) -> bool:
    return stored is not None and stored.startswith(PREFIX)
