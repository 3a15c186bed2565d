"""What the resident shell (top bar, person menu, banner, navigation) shows."""

from __future__ import annotations

from dataclasses import dataclass

from app.security import access
from app.security.access import Representation, Scope
from app.security.actor import Actor


@dataclass(frozen=True)
class ResidentShell:
    actor: Actor
    current: Representation
    options: list[Representation]

    @property
    def acting_for_other(self) -> bool:
        return not self.current.is_self

    def may(self, scope: Scope) -> bool:
        return scope in self.current.scopes

    @property
    def show_messages(self) -> bool:
        return self.may(Scope.MESSAGES)

    @property
    def show_appointments(self) -> bool:
        return self.may(Scope.APPOINTMENTS)

    @property
    def show_contacts(self) -> bool:
        return self.may(Scope.MESSAGES) or self.may(Scope.APPOINTMENTS)

    @property
    def profile_needs_switch(self) -> bool:
        """Profil og innstillinger is the actor's own while acting for someone whose profile
        they may not open (a proxy, the parent of a teenager)."""
        return self.acting_for_other and not self.may(Scope.PROFILE)


def resident_shell_for(actor: Actor) -> ResidentShell:
    """The shell for whom the resident acts for now (themselves if that has ended)."""
    options = actor.representations
    current = access.current_representation(actor) or options[0]
    return ResidentShell(actor=actor, current=current, options=options)
