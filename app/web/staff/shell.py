"""What the staff shell (top bar, active unit, navigation) shows."""

from __future__ import annotations

from dataclasses import dataclass

from app.models import StaffRoleKind, Unit
from app.security import access
from app.security.actor import Actor


@dataclass(frozen=True)
class StaffShell:
    actor: Actor

    @property
    def units(self) -> list[Unit]:
        seen: dict[int, Unit] = {}
        for role in self.actor.staff.roles:
            if role.unit is not None:
                seen.setdefault(role.unit.id, role.unit)
        return sorted(seen.values(), key=lambda u: u.name)

    @property
    def active_unit(self) -> Unit | None:
        return next((u for u in self.units if u.id == self.actor.active_unit_id), None)

    @property
    def is_admin(self) -> bool:
        return access.is_municipal_admin(self.actor)

    @property
    def is_leader(self) -> bool:
        return access.is_unit_leader(self.actor)

    @property
    def sees_oversikt(self) -> bool:
        """A leader of any unit, or the administrator."""
        return self.is_admin or any(
            r.role is StaffRoleKind.LEADER and r.unit_id is not None for r in self.actor.staff.roles
        )
