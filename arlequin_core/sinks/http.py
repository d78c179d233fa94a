"""HTTP plumbing shared by the HTTP sinks (Jenkins, webhook), on :mod:`requests`.

Transport failures become :class:`~arlequin_core.sinks.retry.DeliveryError` with
``retryable=True``: a refused connection, a DNS failure, a timeout. What an answer's
status means is the caller's business (a 403 from Jenkins and from a webhook
receiver call for different advice), except the generic rule of
:func:`status_is_retryable`. Redirects are never followed: a sink that posts and
gets a redirect to a login page must say so, not post to the login page.
"""

from __future__ import annotations

import email.utils
import re
import time
from typing import Any
from urllib.parse import urlsplit

import requests

from arlequin_core import __version__
from arlequin_core.sinks.retry import DeliveryError

USER_AGENT = f"arlequin/{__version__}"

#: Statuses worth another try besides 5xx: request timeout, too early, too many requests.
RETRYABLE_4XX = frozenset({408, 425, 429})


def new_session(verify: bool | str = True) -> requests.Session:
    """A session that keeps cookies (Jenkins ties a CSRF crumb to its web session).

    :param verify: TLS verification: True, False, or a CA bundle path.
    """
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    session.verify = verify
    return session


def request(
    session: requests.Session,
    method: str,
    url: str,
    timeout: tuple[float, float],
    what: str,
    **kwargs: Any,
) -> requests.Response:
    """One HTTP request; transport errors raise a retryable :class:`DeliveryError`.

    :param timeout: (connect, read) timeouts in seconds.
    :param what: what this request is for, used in error messages ("trigger build").
    """
    try:
        return session.request(method, url, timeout=timeout, allow_redirects=False, **kwargs)
    except requests.exceptions.ConnectTimeout:
        raise DeliveryError(f"{what}: connecting to {_origin(url)} timed out after {timeout[0]:g}s", True) from None
    except requests.exceptions.ReadTimeout:
        # The request went out: the target may have acted on it.
        raise DeliveryError(
            f"{what}: {_origin(url)} sent no answer within {timeout[1]:g}s", True, in_doubt=True
        ) from None
    except requests.exceptions.SSLError as exc:
        raise DeliveryError(
            f"{what}: TLS handshake with {_origin(url)} failed ({_reason(exc)}); "
            "set verify_tls to the CA bundle that signs its certificate",
            False,
        ) from None
    except requests.exceptions.ConnectionError as exc:
        raise DeliveryError(f"{what}: cannot reach {_origin(url)} ({_reason(exc)})", True) from None
    except requests.exceptions.RequestException as exc:
        raise DeliveryError(f"{what}: request to {_origin(url)} failed: {_reason(exc)}", False, in_doubt=True) from None


def status_is_retryable(status: int) -> bool:
    """5xx and 408/425/429 may pass on a later try; other 4xx will not."""
    return status >= 500 or status in RETRYABLE_4XX


def retry_after(response: requests.Response) -> float | None:
    """The ``Retry-After`` of ``response`` in seconds (delta or HTTP date), or None."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def excerpt(response: requests.Response, limit: int = 300) -> str:
    """The start of the answer's text with tags and whitespace squeezed, for messages."""
    text = response.text or ""
    text = re.sub(r"<script.*?</script>|<style.*?</style>", " ", text, flags=re.S | re.I)
    text = re.sub(r"<[^>]+>", " ", text)
    text = " ".join(text.split())
    return text[:limit] + ("..." if len(text) > limit else "")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    # Only scheme://host[:port]/path: a query may carry a token.
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"


def _reason(exc: BaseException) -> str:
    # requests nests the real cause (refused, DNS) several levels deep.
    seen = exc
    while seen.__context__ is not None and seen.__context__ is not seen:
        seen = seen.__context__
    text = str(seen) or type(seen).__name__
    return text if len(text) < 200 else text[:200] + "..."
