"""The trainer interface: one implementation per engine (scikit-learn, Spark, ...)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar


class Trainer(ABC):
    """Base class of trainers. Subclasses set a unique ``name``."""

    name: ClassVar[str]

    @abstractmethod
    def train(self, data: Any, **kwargs: Any) -> Any:
        """Train a model on ``data`` and return it with its metrics."""
