"""Retraining is idempotent at the registry: one model version answers a drifted batch.

Two daemons with different homes may share one MLflow registry (the same
``tracking_uri``) and see the same drifted batch: each has its own ledger, so each
would retrain. The registry is what they share, so the registry says who answers:

* every version a retrain registers is tagged ``arlequin.answers.<batch id>`` for each
  drifted batch it was trained for (:func:`tag_answers`);
* before training, :func:`claim` looks for such a version; and, while nobody answered
  yet, for a live claim by another process (the registered model tag
  ``arlequin.retraining.<batch id>``, written before training and removed after
  registration). It writes its own claim, waits a moment and reads the claims back:
  the last writer wins, so of two daemons racing only one trains.

A claim older than :data:`CLAIM_TTL` seconds is stale (its process died mid-retrain)
and is taken over.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

ANSWERS_PREFIX = "arlequin.answers."
CLAIM_PREFIX = "arlequin.retraining."
#: Seconds after which another process's claim counts as abandoned.
CLAIM_TTL = 6 * 3600.0
#: Seconds between writing a claim and reading it back (two racers see each other).
SETTLE = 0.5


@dataclass(frozen=True)
class Answered:
    """Why a retrain is not needed: ``version`` answers the batch already, or ``claimed_by`` is training it."""

    batch_id: str
    version: str | None = None
    claimed_by: str | None = None

    def describe(self, name: str) -> str:
        """One line for logs and the retrain sink's receipt."""
        if self.version is not None:
            return (
                f"batch {self.batch_id} is answered already by {name} version {self.version} "
                "(registered by a process sharing this registry): not retrained again"
            )
        return (
            f"batch {self.batch_id} is being retrained by {self.claimed_by} (sharing this registry): "
            "not retrained twice"
        )


def owner() -> str:
    """This process, as written in claims: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def answered_by(client: Any, name: str, batch_ids: Sequence[str]) -> Answered | None:
    """The registered version that answers one of ``batch_ids`` already, or None."""
    if not batch_ids:
        return None
    wanted = {ANSWERS_PREFIX + b: b for b in batch_ids}
    for version in client.search_model_versions(f"name = '{name}'"):
        for key in version.tags or {}:
            if key in wanted:
                return Answered(batch_id=wanted[key], version=str(version.version))
    return None


def claim(client: Any, name: str, batch_ids: Sequence[str]) -> Answered | None:
    """Claim the retrain for ``batch_ids``; None when this process may train, else who answers.

    Without a registered model yet (the first training) there is nothing to share: None.
    """
    if not batch_ids:
        return None
    done = answered_by(client, name, batch_ids)
    if done is not None:
        return done
    other = _live_claim(client, name, batch_ids)
    if other is not None:
        return other
    if not _model_exists(client, name):
        return None
    mine = json.dumps({"owner": owner(), "at": time.time()})
    for batch_id in batch_ids:
        client.set_registered_model_tag(name, CLAIM_PREFIX + batch_id, mine)
    time.sleep(SETTLE)
    return _live_claim(client, name, batch_ids) or answered_by(client, name, batch_ids)


def release(client: Any, name: str, batch_ids: Sequence[str]) -> None:
    """Remove this process's claims on ``batch_ids`` (after registering, or when the retrain failed)."""
    tags = _model_tags(client, name)
    for batch_id in batch_ids:
        key = CLAIM_PREFIX + batch_id
        if key in tags and _claim_owner(tags[key]) == owner():
            client.delete_registered_model_tag(name, key)


def tag_answers(client: Any, name: str, version: str, batch_ids: Sequence[str]) -> None:
    """Tag ``version`` as the answer to ``batch_ids``."""
    for batch_id in batch_ids:
        client.set_model_version_tag(name, version, ANSWERS_PREFIX + batch_id, "true")


def _live_claim(client: Any, name: str, batch_ids: Sequence[str]) -> Answered | None:
    tags = _model_tags(client, name)
    now = time.time()
    for batch_id in batch_ids:
        raw = tags.get(CLAIM_PREFIX + batch_id)
        if raw is None:
            continue
        try:
            data = json.loads(raw)
            who, at = str(data["owner"]), float(data["at"])
        except (ValueError, KeyError, TypeError):
            continue
        if who != owner() and now - at < CLAIM_TTL:
            return Answered(batch_id=batch_id, claimed_by=who)
    return None


def _claim_owner(raw: str) -> str | None:
    try:
        return str(json.loads(raw)["owner"])
    except (ValueError, KeyError, TypeError):
        return None


def _model_tags(client: Any, name: str) -> dict[str, str]:
    from mlflow.exceptions import MlflowException

    try:
        return dict(client.get_registered_model(name).tags or {})
    except MlflowException:
        return {}


def _model_exists(client: Any, name: str) -> bool:
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException:
        return False
    return True
