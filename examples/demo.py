"""`make demo`: run what exists, honestly. Replaced by the closed loop as it lands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def run(*args: str) -> None:
    print(f"\n$ arlequin {' '.join(args)}", flush=True)
    subprocess.run([str(BIN / "arlequin"), *args], check=True)


if __name__ == "__main__":
    run("--version")
    run("plugins")
    run("--config", "examples/quickstart.toml", "config", "show")
