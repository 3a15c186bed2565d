"""What users are told when the appointment service refuses something."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.models import AppointmentStatus
from app.web.forms import DAMAGED_FORM

STATUS_LABELS = {
    AppointmentStatus.PLANNED: _l("Planned"),
    AppointmentStatus.ASSIGNED: _l("Assigned"),
    AppointmentStatus.COMPLETED: _l("Completed"),
    AppointmentStatus.CANCELLED: _l("Cancelled"),
}

REFUSALS = {
    "period_missing": _l("Fill in when the period starts and ends."),
    "period_order": _l("The end of the period is before its start."),
    "no_services": _l("Choose at least one service."),
    "service_not_open": _l("That service cannot be cancelled here. Call the service instead."),
    "nothing_to_cancel": _l(
        "There is nothing to cancel in that period for the services you chose. Nothing was changed."
    ),
    "unknown_appointment": _l("We could not find that appointment."),
    "note_too_long": _l("The note is too long."),
    "no_weekdays": _l("Choose at least one weekday."),
    "bad_interval": _l("Choose how often: every week, or every 2, 3 or 4 weeks."),
    "window_order": _l("The time window must end after it starts."),
    "description_empty": _l("Describe what will happen."),
    "description_too_long": _l("The description is too long."),
    "starts_in_past": _l("The series cannot start in the past."),
    "unknown_person": _l("Choose a recipient of the unit."),
    "unknown_series": _l("We could not find that series."),
    "not_open": _l("The visit is already completed or cancelled."),
    "unknown_employee": _l("Choose an employee of the unit."),
    "reason_empty": _l("Give a reason for cancelling the visit."),
    "unknown_cancellation": _l("We could not find that cancellation."),
    "not_assigned": _l("Only an assigned visit can be registered as done."),
    "registered_at_out_of_range": _l("The time of the registration is not accepted."),
    "not_completed": _l("The visit is not registered as done, so there is nothing to undo."),
    "undo_not_yours": _l("Only the employee who registered the visit can undo it."),
    "undo_too_late": _l("The time to undo has run out: the visit stays registered as done."),
    "submission_key_invalid": DAMAGED_FORM,
}


def status_label(status: AppointmentStatus) -> str:
    return str(STATUS_LABELS[status])


def refusal(code: str) -> str:
    return str(REFUSALS.get(code, REFUSALS["unknown_appointment"]))


NOT_CANCELLABLE = {
    "completed": _l("This visit is done, so it cannot be cancelled."),
    "cancelled": _l("This appointment is already cancelled."),
    "started": _l("This appointment has started or is over, so it cannot be cancelled."),
    "service_not_open": REFUSALS["service_not_open"],
}


def not_cancellable_text(view) -> str:
    """Why the resident cannot cancel this appointment (an AppointmentView)."""
    if view.not_cancellable == "external":
        return _(
            "This appointment is with %(source)s. To change it, contact them.",
            source=view.appointment.source_name,
        )
    return str(NOT_CANCELLABLE[view.not_cancellable])
