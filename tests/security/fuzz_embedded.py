"""What the fuzz tests share: embedded settings on a fresh data dir, and Standard Webhooks signing
over raw bytes (any body, even invalid UTF-8, and any timestamp text), written from the spec rather
than with the library the server verifies with."""
from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from pathlib import Path

from analytics import chdb_store
from settings import Settings


def embedded_settings(data_dir: Path, **overrides) -> Settings:
    """SQLite event log + chDB under `data_dir`, with a database of its own. chDB is one embedded
    server per process, so the directory a previous test already opened is shared when there is one."""
    opened = next(iter(chdb_store._sessions), None)
    return Settings(data_dir=data_dir, chdb_dir=Path(opened) if opened else data_dir / "chdb",
                    chdb_database=f"fz_{uuid.uuid4().hex[:10]}", **overrides)


def raw_signed_headers(secret: str, body: bytes, *, msg_id: str | None = None,
                       timestamp: str | None = None) -> dict[str, str]:
    """webhook-* headers signing `body` exactly: v1,base64(HMAC-SHA256(key, "id.timestamp." + body))."""
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    timestamp = str(int(time.time())) if timestamp is None else timestamp
    key = base64.b64decode(secret.removeprefix("whsec_") + "==")
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return {"webhook-id": msg_id, "webhook-timestamp": timestamp,
            "webhook-signature": "v1," + base64.b64encode(digest).decode(), "content-type": "application/json"}
