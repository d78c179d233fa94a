"""Trained models waiting to be logged: ``<home>/pending/<id>/``.

A retrain saves everything MLflow will need *before* talking to MLflow, so a
tracking server that is down or fails mid-run loses nothing::

    <home>/pending/<id>/
        state.json          what was trained, on what, and which logging steps are done
        model/              the model as an MLflow model directory (mlflow.pyfunc.load_model works)
        heldout.parquet     the held-out rows (file, or a Spark directory), for validation
        example.parquet     the model's input example (dtypes kept, for the signature)
        drift.profile       the drift profile of the training rows (when the profile API exists)
        drift_report.json   the drift report that caused the retrain (when given)

``arlequin train --resume [ID]`` continues from the first step not done; the
directory is removed once the model is registered and validated. ``state.json`` is
replaced atomically after every step.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from arlequin_core.training.errors import TrainingError

PENDING_DIR = "pending"
STATE = "state.json"


class Pending:
    """One pending directory and its ``state.json``.

    :param path: the directory (``<home>/pending/<id>``).
    """

    def __init__(self, path: Path, state: dict[str, Any] | None = None) -> None:
        self.path = path
        self.state: dict[str, Any] = state if state is not None else {}
        #: Directories :meth:`create` made above ``path`` (``pending/``, the home), innermost first.
        self._made: list[Path] = []

    @property
    def id(self) -> str:
        """The pending id (the directory's name)."""
        return self.path.name

    @property
    def model_dir(self) -> Path:
        """The MLflow model directory."""
        return self.path / "model"

    @property
    def heldout(self) -> Path:
        """The held-out rows."""
        return self.path / "heldout.parquet"

    @property
    def example(self) -> Path:
        """The model's input example."""
        return self.path / "example.parquet"

    @property
    def profile(self) -> Path:
        """The drift profile file (``profile.json``, format 1, in a directory written before profile format 2)."""
        from arlequin_core.training.profiles import PROFILE_FILE

        legacy = self.path / "profile.json"
        return legacy if legacy.is_file() else self.path / PROFILE_FILE

    @property
    def drift_report(self) -> Path:
        """The drift report file (when given)."""
        return self.path / "drift_report.json"

    @classmethod
    def create(cls, home: Path) -> Pending:
        """A new, empty pending directory under ``home``."""
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        path = home / PENDING_DIR / f"{stamp}-{uuid.uuid4().hex[:8]}"
        made = [p for p in path.parents if not p.exists()]
        path.mkdir(parents=True)
        pending = cls(path, {"id": path.name, "created_at": datetime.now(timezone.utc).isoformat(), "done": []})
        pending._made = made
        return pending

    @classmethod
    def open(cls, home: Path, pending_id: str) -> Pending:
        """The pending directory ``pending_id``.

        :raises TrainingError: unknown id (the message lists the known ones) or a corrupt state file.
        """
        path = home / PENDING_DIR / pending_id
        state_file = path / STATE
        if not state_file.is_file():
            known = ", ".join(p.id for p in cls.all(home)) or "none"
            raise TrainingError(f"no pending training {pending_id!r} under {home / PENDING_DIR}; pending: {known}")
        try:
            state = json.loads(state_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise TrainingError(f"{state_file}: unreadable pending state: {exc}") from None
        return cls(path, state)

    @classmethod
    def all(cls, home: Path) -> list[Pending]:
        """Every complete pending directory (one with a state file), oldest first."""
        root = home / PENDING_DIR
        if not root.is_dir():
            return []
        return [cls.open(home, p.name) for p in sorted(root.iterdir()) if (p / STATE).is_file()]

    def save(self) -> None:
        """Write ``state.json`` atomically."""
        tmp = self.path / f".{STATE}.tmp"
        tmp.write_text(json.dumps(self.state, indent=2, default=str), encoding="utf-8")
        os.replace(tmp, self.path / STATE)

    def done(self, step: str) -> bool:
        """Whether logging step ``step`` completed."""
        return step in self.state.get("done", [])

    def mark(self, step: str, **values: Any) -> None:
        """Record ``step`` as done (with any values it produced) and save."""
        self.state.update(values)
        self.state.setdefault("done", [])
        if step not in self.state["done"]:
            self.state["done"].append(step)
        self.save()

    def remove(self) -> None:
        """Delete the directory (after the model is safely in MLflow)."""
        shutil.rmtree(self.path, ignore_errors=True)

    def discard(self) -> None:
        """Delete the directory after a failed training, and the parents :meth:`create` made if empty.

        A first ``arlequin train`` that fails (a missing file, a bad label) leaves no
        empty ``.arlequin/`` behind; a directory that holds anything else stays.
        """
        self.remove()
        for parent in self._made:
            try:
                parent.rmdir()
            except OSError:
                break  # not empty (someone else wrote there): keep it and what is above
