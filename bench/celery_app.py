"""The baseline most Python teams would build: a Celery task that signs and POSTs with requests.

Run by bench/throughput.py as ``celery -A celery_app worker``; broker and results on the local Redis.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import requests
from celery import Celery

app = Celery("bench", broker="redis://127.0.0.1:6379/15")
app.conf.update(
    task_ignore_result=True, worker_prefetch_multiplier=64, broker_connection_retry_on_startup=True
)
KEY = b"bench-signing-key"
_session = requests.Session()


@app.task(name="deliver")  # type: ignore[untyped-decorator]
def deliver(url: str, msg_id: str, body: str) -> int:
    ts = str(int(time.time()))
    mac = hmac.new(KEY, f"{msg_id}.{ts}.{body}".encode(), hashlib.sha256).digest()
    headers = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": ts,
        "webhook-signature": "v1," + base64.b64encode(mac).decode(),
    }
    response = _session.post(url, data=body.encode(), headers=headers, timeout=5)
    return response.status_code
