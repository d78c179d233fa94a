"""Retrying a delivery: exponential backoff with jitter, stoppable at any moment.

A delivery attempt either returns or raises :class:`DeliveryError`, which says
whether trying again can help (``retryable``: connection errors, timeouts, 5xx)
or not (bad credentials, missing job: the message says what to fix). Waits between
attempts happen on a :class:`threading.Event`, so closing a sink ends its retry
loop at once instead of after the current sleep.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from arlequin_core.logs import get_logger

log = get_logger(__name__)

T = TypeVar("T")


class DeliveryError(Exception):
    """One delivery attempt failed.

    :param message: what went wrong and what to do about it (never a secret).
    :param retryable: whether another attempt may succeed.
    :param status: the HTTP status, when there was an answer.
    :param retry_after: seconds the target asked to wait (``Retry-After``), if any.
    :param in_doubt: the request may have reached the target although it failed (an
        answer that never came): a crash after it must not resend behind the
        operator's back. False when the target surely did not act on it (the
        connection was refused, it answered with an error).
    """

    def __init__(
        self,
        message: str,
        retryable: bool,
        status: int | None = None,
        retry_after: float | None = None,
        in_doubt: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after
        self.in_doubt = in_doubt


class DeliveryInterrupted(Exception):  # not an error: the sink is closing
    """The sink was closed while waiting to retry; the delivery did not happen."""


@dataclass(frozen=True)
class Backoff:
    """Delays between attempts: ``initial * multiplier**(n-1)``, capped, with jitter.

    :param max_attempts: attempts in all (1: no retry); None: no count limit, the
        ``deadline`` decides.
    :param initial: delay before the second attempt, in seconds.
    :param maximum: cap on any delay, in seconds (also caps ``Retry-After``).
    :param multiplier: growth factor per attempt (>= 1).
    :param jitter: fraction of each delay drawn at random, in [0, 1]: a delay ``d``
        becomes uniform in ``[d * (1 - jitter), d]``, so many sinks retrying after
        the same outage do not hit the target in step. 0: deterministic.
    :param deadline: seconds after the first attempt after which a failure is final
        (the last wait is shortened to end at the deadline, so the last attempt
        happens right there); None: only ``max_attempts`` limits. A target down for
        a restart or an upgrade is waited for up to the deadline.
    """

    max_attempts: int | None = 6
    initial: float = 1.0
    maximum: float = 60.0
    multiplier: float = 2.0
    jitter: float = 0.5
    deadline: float | None = None

    def __post_init__(self) -> None:
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {self.max_attempts}")
        if self.max_attempts is None and self.deadline is None:
            raise ValueError("set max_attempts or a deadline: retrying must end")
        if self.deadline is not None and self.deadline < 0:
            raise ValueError(f"deadline must be >= 0 seconds, got {self.deadline}")
        if self.initial < 0 or self.maximum < 0:
            raise ValueError("delays must be >= 0 seconds")
        if self.multiplier < 1:
            raise ValueError(f"multiplier must be >= 1, got {self.multiplier}")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError(f"jitter must be in [0, 1], got {self.jitter}")

    def delay(self, attempt: int, retry_after: float | None = None, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based).

        A ``Retry-After`` longer than the computed delay wins, up to :attr:`maximum`.
        """
        base = min(self.maximum, self.initial * self.multiplier ** (attempt - 1))
        draw = (rng or random).random()
        wait = base * (1.0 - self.jitter * draw)
        if retry_after is not None:
            wait = max(wait, min(self.maximum, retry_after))
        return wait


def retry(
    attempt: Callable[[], T],
    backoff: Backoff,
    stop: threading.Event,
    on_attempt: Callable[[int], None] | None = None,
    what: str = "delivery",
) -> T:
    """Call ``attempt`` until it returns, fails for good, or the budget is spent.

    :param attempt: one try; raises :class:`DeliveryError` on failure.
    :param stop: set it to abandon the waits (raises :class:`DeliveryInterrupted`).
    :param on_attempt: called with the attempt number before each try.
    :raises DeliveryError: the last error, when not retryable, out of attempts or past the deadline.
    :raises DeliveryInterrupted: ``stop`` was set before a retry.
    """
    number = 0
    started = time.monotonic()
    while True:
        if stop.is_set():
            raise DeliveryInterrupted(what)
        number += 1
        if on_attempt is not None:
            on_attempt(number)
        try:
            return attempt()
        except DeliveryError as exc:
            if not exc.retryable or (backoff.max_attempts is not None and number >= backoff.max_attempts):
                raise
            wait = backoff.delay(number, exc.retry_after)
            if backoff.deadline is not None:
                left = backoff.deadline - (time.monotonic() - started)
                if left <= 0:
                    raise DeliveryError(
                        f"{exc.message} (still failing after {backoff.deadline:g} s of retries, {number} attempts)",
                        exc.retryable,
                        exc.status,
                        exc.retry_after,
                        exc.in_doubt,
                    ) from exc
                wait = min(wait, left)
            log.warning(
                "delivery_retry",
                what=what,
                attempt=number,
                max_attempts=backoff.max_attempts,
                deadline_seconds=backoff.deadline,
                wait_seconds=round(wait, 3),
                error=exc.message,
            )
            if stop.wait(wait):
                raise DeliveryInterrupted(what) from exc
