"""The shared mechanism on its own: backoff, the retry loop, the ledger."""

from __future__ import annotations

import random
import threading

import pytest

from arlequin_core.events import DriftDetected, ModelRegistered, PluginFailed
from arlequin_core.sinks.retry import Backoff, DeliveryError, DeliveryInterrupted, retry
from arlequin_core.sinks.store import DeliveryStore, dedupe_key

from .conftest import drift


def test_backoff_grows_exponentially_up_to_the_cap_without_jitter() -> None:
    backoff = Backoff(max_attempts=10, initial=0.5, maximum=5.0, multiplier=2.0, jitter=0.0)
    assert [backoff.delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]


def test_jitter_stays_within_its_share_of_the_delay() -> None:
    backoff = Backoff(initial=8.0, maximum=100.0, jitter=0.25)
    rng = random.Random(7)
    draws = [backoff.delay(1, rng=rng) for _ in range(2000)]
    assert min(draws) >= 6.0 and max(draws) <= 8.0
    assert max(draws) - min(draws) > 1.5  # it does spread


def test_retry_after_wins_when_longer_but_is_capped() -> None:
    backoff = Backoff(initial=1.0, maximum=30.0, jitter=0.0)
    assert backoff.delay(1, retry_after=10.0) == 10.0
    assert backoff.delay(1, retry_after=600.0) == 30.0
    assert backoff.delay(1, retry_after=0.1) == 1.0


@pytest.mark.parametrize("kwargs", [{"max_attempts": 0}, {"multiplier": 0.5}, {"jitter": 1.5}, {"initial": -1}])
def test_backoff_checks_its_parameters(kwargs) -> None:
    with pytest.raises(ValueError):
        Backoff(**kwargs)


def test_retry_stops_at_the_budget_and_on_permanent_errors() -> None:
    fast = Backoff(max_attempts=3, initial=0.0, jitter=0.0)
    calls = []

    def always_503():
        calls.append(1)
        raise DeliveryError("503", retryable=True)

    with pytest.raises(DeliveryError, match="503"):
        retry(always_503, fast, threading.Event())
    assert len(calls) == 3

    calls.clear()

    def refused():
        calls.append(1)
        raise DeliveryError("401", retryable=False)

    with pytest.raises(DeliveryError, match="401"):
        retry(refused, fast, threading.Event())
    assert len(calls) == 1


def test_retry_returns_the_first_success_and_counts_attempts() -> None:
    answers = iter([DeliveryError("x", True), DeliveryError("y", True), "ok"])
    seen = []

    def attempt():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert retry(attempt, Backoff(initial=0.0), threading.Event(), on_attempt=seen.append) == "ok"
    assert seen == [1, 2, 3]


def test_retry_is_interrupted_by_stop_instead_of_sleeping() -> None:
    stop = threading.Event()

    def fail_then_stop():
        stop.set()  # the sink closes while this attempt fails
        raise DeliveryError("503", True)

    with pytest.raises(DeliveryInterrupted):
        retry(fail_then_stop, Backoff(initial=3600.0, maximum=3600.0), stop)


def test_ledger_dedupes_per_sink_and_batch_across_instances(tmp_path) -> None:
    store = DeliveryStore(tmp_path / "sinks.db")
    assert store.record("jenkins", drift("b1"))
    assert not store.record("jenkins", drift("b1"))  # another event, same batch
    assert store.record("webhook", drift("b1"))  # another sink
    again = DeliveryStore(tmp_path / "sinks.db")  # a restart
    assert not again.record("jenkins", drift("b1"))
    assert again.counts("jenkins") == {"pending": 1, "delivering": 0, "accepted": 0, "delivered": 0, "dead": 0}


def test_dedupe_key_is_per_batch_for_batch_events_and_per_event_otherwise() -> None:
    assert dedupe_key(drift("b1")) == "drift-detected:b1"
    failure = PluginFailed(plugin="p", hook="h", error="e", batch_id="b1")
    assert dedupe_key(failure) == f"plugin-failed:{failure.event_id}"
    registered = ModelRegistered(model_name="m", model_version="1", run_id="r", promoted=True)
    assert dedupe_key(registered) == f"model-registered:{registered.event_id}"
    no_batch = DriftDetected(uri="u", reason="r", drift_share=1.0)
    assert dedupe_key(no_batch) == f"drift-detected:{no_batch.event_id}"


def test_claim_hands_each_letter_to_one_claimer(tmp_path) -> None:
    store = DeliveryStore(tmp_path / "sinks.db")
    for batch in ("b1", "b2", "b3"):
        store.record("jenkins", drift(batch))
    results: list[list[str]] = []
    barrier = threading.Barrier(4)

    def claimer():
        barrier.wait()
        results.append([letter.key for letter in DeliveryStore(tmp_path / "sinks.db").claim("jenkins", limit=1)])

    threads = [threading.Thread(target=claimer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [key for keys in results for key in keys]
    assert sorted(claimed) == ["drift-detected:b1", "drift-detected:b2", "drift-detected:b3"]


def test_dead_letters_requeue_and_keep_their_event(tmp_path) -> None:
    store = DeliveryStore(tmp_path / "sinks.db")
    event = drift("b1")
    store.record("jenkins", event)
    (letter,) = store.claim("jenkins")
    store.mark_dead("jenkins", [letter.key], "Jenkins answered 503", retryable=True)
    (dead,) = store.letters(state="dead")
    assert dead.event == event and dead.error == "Jenkins answered 503" and dead.retryable is True
    assert store.requeue_dead("jenkins", ["drift-detected:other"]) == 0
    assert store.requeue_dead("jenkins") == 1
    assert store.letters(state="pending")[0].error is None
