"""Values read once per model version (a champion's profile, a loaded model), kept per App.

They used to live in module globals, so two Apps in one process (tests, an embedding
application with two configs) shared them. Each App now owns its caches
(:attr:`App.profile_cache <arlequin_core.app.App.profile_cache>`,
:attr:`App.model_cache <arlequin_core.app.App.model_cache>`); a function given no
cache simply reads again.
"""

from __future__ import annotations

import threading
from typing import Any

#: (tracking store URI, model name, version)
VersionKey = tuple[str, str, str]


class VersionCache:
    """A thread-safe map from a model version to a value computed for it.

    :param latest_only: keep one version per (store, model name): putting a version
        evicts the others (a loaded model: only the serving one is needed, and a
        promotion or rollback replaces it).
    """

    def __init__(self, *, latest_only: bool = False) -> None:
        self.latest_only = latest_only
        self._items: dict[VersionKey, Any] = {}
        self._lock = threading.Lock()

    def get(self, key: VersionKey) -> Any | None:
        """The value kept for ``key``, or None."""
        with self._lock:
            return self._items.get(key)

    def put(self, key: VersionKey, value: Any) -> None:
        """Keep ``value`` for ``key`` (evicting the model's other versions with ``latest_only``)."""
        with self._lock:
            if self.latest_only:
                for other in [k for k in self._items if k[:2] == key[:2]]:
                    del self._items[other]
            self._items[key] = value

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._items.clear()
