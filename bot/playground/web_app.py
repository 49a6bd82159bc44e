"""Telegram's initData as a Telegram app hands it to a Mini App, signed like Telegram signs
it (https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from urllib.parse import urlencode


def init_data(
    bot_token: str,
    user_id: int,
    first_name: str,
    signed_at: datetime,
    *,
    language_code: str = "ru",
) -> str:
    fields = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps(
            {"id": user_id, "first_name": first_name, "language_code": language_code},
            ensure_ascii=False,
            separators=(",", ":"),
        ),
        "auth_date": str(int(signed_at.timestamp())),
    }
    checked = "\n".join(f"{key}={value}" for key, value in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret, checked.encode(), hashlib.sha256).hexdigest()
    return urlencode(fields)


def forged(data: str) -> str:
    """The same initData with another user put in: the hash no longer matches."""
    return data.replace("%22id%22%3A", "%22id%22%3A9")
