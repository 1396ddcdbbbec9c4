"""A webhook sender, as a platform would be one: signs with Standard Webhooks and posts JSON.

Used by the demo, the benchmarks and the tests, so they all sign exactly one way.
"""
from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone
from typing import Any, Sequence

import orjson
import requests
from standardwebhooks.webhooks import Webhook


def sign_headers(secret: str, body: bytes, *, msg_id: str | None = None, timestamp: float | None = None) -> dict[str, str]:
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    ts = int(timestamp if timestamp is not None else time.time())
    signature = Webhook(secret).sign(msg_id, datetime.fromtimestamp(ts, timezone.utc), body.decode())
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": signature,
            "content-type": "application/json"}


class WebhookSender:
    def __init__(self, base_url: str, source: str, secret: str, timeout_s: float = 30):
        self.url = f"{base_url.rstrip('/')}/v1/webhooks/{source}"
        self.secret = secret
        self.timeout_s = timeout_s
        self.http = requests.Session()

    def post(self, payload: Any) -> requests.Response:
        body = orjson.dumps(payload)
        return self.http.post(self.url, data=body, headers=sign_headers(self.secret, body), timeout=self.timeout_s)

    def post_batches(self, events: Sequence[dict], batch_size: int = 200, retries: int = 5) -> list[requests.Response]:
        """Post in batches; a 503 is retried after its Retry-After (as a well-behaved platform would)."""
        responses = []
        for start in range(0, len(events), batch_size):
            chunk = list(events[start:start + batch_size])
            for attempt in range(retries + 1):
                response = self.post({"events": chunk})
                if response.status_code != 503 or attempt == retries:
                    break
                time.sleep(float(response.headers.get("Retry-After", "1")))
            responses.append(response)
        return responses
