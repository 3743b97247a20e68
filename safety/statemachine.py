"""The shape every status of the service has: named states and the moves allowed between
them. A status column is changed only by its owner (the feature's store), which asks its
machine before it writes the change and its audit event; any other move is refused."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

S = TypeVar("S", bound=StrEnum)


class StatusError(ValueError):
    """A move the status's machine does not allow; the message names both states."""


@dataclass(frozen=True)
class StateMachine(Generic[S]):
    name: str
    moves: Mapping[S, frozenset[S]]

    def allows(self, current: S, target: S) -> bool:
        return target in self.moves.get(current, frozenset())

    def check(self, current: S | str, target: S) -> None:
        current_state = type(target)(current)
        if not self.allows(current_state, target):
            allowed = ", ".join(sorted(self.moves.get(current_state, frozenset()))) or "none"
            raise StatusError(f"{self.name}: {current_state.value} -> {target.value} is not "
                              f"allowed (from {current_state.value}: {allowed})")
