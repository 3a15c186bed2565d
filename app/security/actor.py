"""The logged-in actor of a request, built from its server-side log-in session."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from flask_login import AnonymousUserMixin

from app.clock import utcnow
from app.models import LoginSession, Person, StaffAccount, StaffRoleKind

if TYPE_CHECKING:
    from app.security.access import Representation


class Actor:
    """A resident (acting for themselves or someone else) or a staff member."""

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def __init__(
        self,
        login: LoginSession,
        token: str,
        *,
        digitally_active: bool = False,
        acts_for_others: bool = True,
    ) -> None:
        self.login = login
        self.token = token
        # A resident who has accepted the current terms (nothing else opens before that).
        self.digitally_active = digitally_active
        # False when the session's statement found no one else the resident may act for.
        self.acts_for_others = acts_for_others

    def get_id(self) -> str:
        return self.token

    # --- who -------------------------------------------------------------------

    @property
    def is_resident(self) -> bool:
        return self.login.person_id is not None

    @property
    def is_staff(self) -> bool:
        return self.login.staff_id is not None

    @property
    def person(self) -> Person:
        assert self.login.person is not None
        return self.login.person

    @property
    def staff(self) -> StaffAccount:
        assert self.login.staff is not None
        return self.login.staff

    @property
    def display_name(self) -> str:
        return self.person.full_name if self.is_resident else self.staff.full_name

    def describe(self) -> str:
        if self.is_resident:
            return f"person:{self.login.person_id} for:{self.subject_id}"
        return f"staff:{self.login.staff_id} unit:{self.login.active_unit_id}"

    # --- residents: whom they act for -------------------------------------------

    @cached_property
    def representations(self) -> list[Representation]:
        """Everyone this resident may act for, themselves first (loaded once per request)."""
        from app.extensions import db
        from app.security.access import load_representations

        return load_representations(
            db.session, self.person, utcnow(), anyone_else=self.acts_for_others
        )

    @property
    def subject_id(self) -> int:
        return self.login.acting_for_person_id or self.login.person_id  # type: ignore[return-value]

    @property
    def is_acting_for_other(self) -> bool:
        return self.is_resident and self.subject_id != self.login.person_id

    # --- staff: the active unit ----------------------------------------------

    @property
    def active_unit_id(self) -> int | None:
        return self.login.active_unit_id

    @property
    def unit_ids(self) -> list[int]:
        if not self.is_staff:
            return []
        return sorted({r.unit_id for r in self.staff.roles if r.unit_id is not None})

    def has_role(self, role: StaffRoleKind) -> bool:
        if not self.is_staff:
            return False
        if role is StaffRoleKind.MUNICIPAL_ADMIN:
            return any(r.role is role for r in self.staff.roles)
        return any(r.role is role and r.unit_id == self.active_unit_id for r in self.staff.roles)


class Anonymous(AnonymousUserMixin):
    is_resident = False
    digitally_active = False
    is_staff = False
    is_acting_for_other = False

    def describe(self) -> str:
        return "anonymous"

    def has_role(self, role: StaffRoleKind) -> bool:
        return False
