"""The source interface: watch a location and report complete batches."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar


class Source(ABC):
    """Base class of sources. Subclasses set a unique ``name``."""

    name: ClassVar[str]

    @abstractmethod
    def start(self, emit: Any) -> None:
        """Start watching; call ``emit`` for each complete batch."""

    @abstractmethod
    def stop(self) -> None:
        """Stop watching and release resources."""
