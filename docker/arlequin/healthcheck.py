"""The watcher image's health check: ``/metrics`` answers and carries the watcher's metrics.

Exit 0 when healthy, 1 otherwise (with the reason on stderr). The port is
``$ARLEQUIN_METRICS_PORT`` (default 9108) on this host; tests/docker runs this same
file against a real ``arlequin watch`` started with docker/arlequin/arlequin.toml.
"""

from __future__ import annotations

import os
import sys
import urllib.request

#: A metric every running watcher exports (from its first second on).
REQUIRED = "arlequin_batches_seen_total"


def main() -> int:
    port = os.environ.get("ARLEQUIN_METRICS_PORT", "9108")
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            body = answer.read().decode("utf-8", "replace")
    except OSError as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    if REQUIRED not in body:
        print(f"unhealthy: {url} answers without {REQUIRED}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
