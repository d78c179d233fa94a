"""The webhook signature: ``X-Arlequin-Signature: sha256=<hex HMAC-SHA256 of the body>``.

The same scheme as GitHub's ``X-Hub-Signature-256``: the receiver recomputes the
HMAC of the raw body bytes with the shared secret and compares in constant time::

    from arlequin_webhook.signature import verify
    if not verify(secret, request_body_bytes, request.headers["X-Arlequin-Signature"]):
        return 401
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Arlequin-Signature"
PREFIX = "sha256="


def sign(secret: str | bytes, body: bytes) -> str:
    """The header value for ``body``: ``sha256=`` and 64 lowercase hex digits.

    :param secret: the shared secret (str is encoded as UTF-8).
    :param body: the exact bytes sent.
    """
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    return PREFIX + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify(secret: str | bytes, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the signature of ``body`` under ``secret`` (constant-time compare).

    A missing header, another algorithm prefix or a malformed value is False, never an error.
    """
    if not header or not header.startswith(PREFIX):
        return False
    return hmac.compare_digest(sign(secret, body).encode("ascii"), header.strip().encode("ascii", "replace"))
