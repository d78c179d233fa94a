"""Per-App caches of what is read once per model version."""

from __future__ import annotations

import threading

from arlequin_core.app import App
from arlequin_core.cache import VersionCache
from arlequin_core.config import ArlequinConfig


def test_version_cache_keeps_every_version_or_only_the_latest_per_model() -> None:
    profiles = VersionCache()
    profiles.put(("sqlite:///a", "m", "1"), "p1")
    profiles.put(("sqlite:///a", "m", "2"), "p2")
    assert (profiles.get(("sqlite:///a", "m", "1")), profiles.get(("sqlite:///a", "m", "2"))) == ("p1", "p2")
    assert profiles.get(("sqlite:///b", "m", "1")) is None  # another store is another model

    models = VersionCache(latest_only=True)
    models.put(("sqlite:///a", "m", "1"), "v1")
    models.put(("sqlite:///a", "other", "4"), "o4")
    models.put(("sqlite:///a", "m", "2"), "v2")  # a promotion: version 1 is no longer needed
    assert ("sqlite:///a", "m", "1") not in models
    assert models.get(("sqlite:///a", "m", "2")) == "v2" and models.get(("sqlite:///a", "other", "4")) == "o4"
    assert len(models) == 2
    models.clear()
    assert len(models) == 0


def test_version_cache_is_safe_to_fill_from_many_threads() -> None:
    cache = VersionCache(latest_only=True)

    def fill(model: str) -> None:
        for version in range(200):
            cache.put(("u", model, str(version)), version)

    threads = [threading.Thread(target=fill, args=(f"m{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted((k, cache.get(("u", k, "199"))) for k in ("m0", "m1", "m2", "m3")) == [
        ("m0", 199),
        ("m1", 199),
        ("m2", 199),
        ("m3", 199),
    ]
    assert len(cache) == 4


def test_each_app_owns_its_caches() -> None:
    first, second = App(ArlequinConfig()), App(ArlequinConfig())
    first.profile_cache.put(("u", "m", "1"), "profile of the first app")
    assert first.profile_cache is first.profile_cache
    assert second.profile_cache.get(("u", "m", "1")) is None
    assert first.model_cache is not second.model_cache and first.model_cache.latest_only
