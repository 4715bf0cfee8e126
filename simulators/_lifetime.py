"""``with sim:`` for simulators that have ``start()`` and ``stop()``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Self


class StartStop(ABC):
    """Mixin: entering starts the simulator, leaving stops it."""

    @abstractmethod
    def start(self) -> Any:
        """Start (plug in, connect, listen)."""

    @abstractmethod
    def stop(self) -> None:
        """Stop and release everything."""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
