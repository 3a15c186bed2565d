"""Every route, tried by every role (docs/quality.md R1).

The table below names, for each (endpoint, method), what each role gets. A route that
is added to the app but not to the table fails `test_every_route_is_in_the_table`.
Besides the status, no response to a role outside SEES_RESIDENT may contain the
resident's name: nobody reads another person's data.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.clock import local_to_utc, oslo_today, utcnow
from app.models import (
    APPOINTMENTS_AND_PROVIDERS,
    Appointment,
    AppointmentStatus,
    CancellationKind,
    Fullmakt,
    FullmaktKind,
    Message,
    PasskeyCredential,
    ServiceRecipient,
    StaffRoleKind,
)
from app.services import appointments as appointment_service
from app.services import messaging
from tests import factories
from tests.support import LoginHelper, RecordSystem, actor_for, csrf_token

ROLES = (
    "anonymous",
    "resident",
    "proxy_in_scope",
    "proxy_out_of_scope",
    "expired_proxy",
    "parent",
    "staff_of_unit",
    "staff_of_other_unit",
    "staff_of_other_municipality",
    "leader",
    "admin",
)
RESIDENTS = {
    "resident",
    "proxy_in_scope",
    "proxy_out_of_scope",
    "expired_proxy",
    "parent",
}
STAFF = {
    "staff_of_unit",
    "staff_of_other_unit",
    "staff_of_other_municipality",
    "leader",
    "admin",
}
# Who may see the resident's data at all (through the pages that show it).
SEES_RESIDENT = {"resident", "proxy_in_scope", "staff_of_unit", "leader"}
RESIDENT_NAME = "Rita Resident"

LOGIN_REDIRECT = 302
# Where a name is shown by design: the test identity provider lists the register
# (development only); a fullmakt list names the other party, and the administrator's list
# names both parties of the fullmakter the municipality registered.
NAMES_BY_DESIGN = {
    ("dev_idp.authorize", "GET"),
    ("dev_idp.authorize", "POST"),
    ("citizen.fullmakter", "GET"),
    ("admin.fullmakter", "GET"),
    # The administrator follows up failed notices in the whole municipality, by name.
    ("admin.failed_notices", "GET"),
    # Service recipients are listed and ended by name.
    ("admin.recipients", "GET"),
    ("admin.recipient_end", "GET"),
}


@dataclass
class Scene:
    world: factories.World
    ids: dict[str, int]


def everyone(status: int | set[int]) -> dict[str, set[int]]:
    return {role: status if isinstance(status, set) else {status} for role in ROLES}


def table(**by_role: int | set[int]) -> dict[str, set[int]]:
    """Statuses per role; `residents=` and `staff=` set a group, single roles override."""
    result: dict[str, set[int]] = {}
    groups = {"residents": RESIDENTS, "staff": STAFF}
    for key, status in by_role.items():
        if key in groups:
            for role in groups[key]:
                result[role] = status if isinstance(status, set) else {status}
    for key, status in by_role.items():
        if key not in groups:
            result[key] = status if isinstance(status, set) else {status}
    missing = set(ROLES) - set(result)
    assert not missing, f"table row lacks roles {missing}"
    return result


RESIDENT_PAGE = table(anonymous=LOGIN_REDIRECT, residents=200, staff=403)
STAFF_PAGE = table(
    anonymous=LOGIN_REDIRECT,
    residents=403,
    staff=200,
    admin=302,  # no unit: sent to Administration
)

# Profile pages are for oneself (or a young child); a proxy never opens the grantor's.
PROFILE_PAGE = table(anonymous=LOGIN_REDIRECT, residents=200, proxy_in_scope=403, staff=403)
# Fullmakt pages: only for oneself, never while acting for someone else.
FULLMAKT_PAGE = table(
    anonymous=LOGIN_REDIRECT, residents=200, proxy_in_scope=403, parent=403, staff=403
)

# A thread or message of the unit: only its staff and leader reach it; others see nothing.
UNIT_OBJECT = table(
    anonymous=LOGIN_REDIRECT,
    residents=403,
    staff=404,
    staff_of_unit=200,
    leader=200,
    admin=302,
)
UNIT_ACTION = table(
    anonymous=LOGIN_REDIRECT,
    residents=403,
    staff=404,
    staff_of_unit=303,
    leader=303,
    admin=302,
)

Request = Callable[[Scene], tuple[str, dict[str, object] | None]]

# The public key of an API client registered in the scene and through the form.
SCENE_API_KEYS = json.dumps(RecordSystem().public_jwks)


def get(path: str) -> Request:
    return lambda scene: (path.format(**scene.ids), None)


def post(path: str, **data: object) -> Request:
    return lambda scene: (
        path.format(**scene.ids),
        {k: (v.format(**scene.ids) if isinstance(v, str) else v) for k, v in data.items()},
    )


ROUTES: dict[tuple[str, str], tuple[Request, dict[str, set[int]]]] = {
    ("static", "GET"): (get("/static/css/app.css"), everyone(200)),
    ("healthz", "GET"): (get("/healthz"), everyone(200)),
    ("readyz", "GET"): (get("/readyz"), everyone(200)),
    # The record-system API: a browser session is no log-in there (tests/web/test_api.py
    # tries it with its own client roles, API_ROUTES below).
    ("api.token", "POST"): (post("/oauth/token"), everyone(400)),
    ("api.jwks", "GET"): (get("/oauth/jwks"), everyone(200)),
    ("api.metadata", "GET"): (get("/fhir/R4/metadata"), everyone(200)),
    ("api.smart_configuration", "GET"): (
        get("/fhir/R4/.well-known/smart-configuration"),
        everyone(200),
    ),
    ("api.patient_read", "GET"): (get("/fhir/R4/Patient/{resident}"), everyone(401)),
    ("api.appointment_read", "GET"): (get("/fhir/R4/Appointment/{appointment}"), everyone(401)),
    ("api.communication_read", "GET"): (get("/fhir/R4/Communication/{message}"), everyone(401)),
    ("api.communication_search", "GET"): (get("/fhir/R4/Communication"), everyone(401)),
    ("api.communication_create", "POST"): (post("/fhir/R4/Communication"), everyone(401)),
    ("api.communication_journal", "POST"): (
        post("/fhir/R4/Communication/{message}/$journal"),
        everyone(401),
    ),
    ("api.appointment_search", "GET"): (get("/fhir/R4/Appointment"), everyone(401)),
    ("api.appointment_create", "POST"): (post("/fhir/R4/Appointment"), everyone(401)),
    ("api.appointment_update", "PUT"): (
        post("/fhir/R4/Appointment/{appointment}"),
        everyone(401),
    ),
    ("api.appointment_conditional_update", "PUT"): (
        post("/fhir/R4/Appointment?identifier=urn:epj|1"),
        everyone(401),
    ),
    ("api.patient_search", "GET"): (get("/fhir/R4/Patient?_id={resident}"), everyone(401)),
    ("api.subscription_create", "POST"): (post("/fhir/R4/Subscription"), everyone(401)),
    ("api.subscription_search", "GET"): (get("/fhir/R4/Subscription"), everyone(401)),
    ("api.subscription_read", "GET"): (
        get("/fhir/R4/Subscription/{subscription}"),
        everyone(401),
    ),
    ("api.subscription_update", "PUT"): (
        post("/fhir/R4/Subscription/{subscription}"),
        everyone(401),
    ),
    ("api.subscription_delete", "DELETE"): (
        post("/fhir/R4/Subscription/{subscription}"),
        everyone(401),
    ),
    ("auth.front", "GET"): (
        get("/"),
        table(anonymous=200, residents=302, staff=302),
    ),
    ("auth.login", "GET"): (get("/auth/login"), everyone(302)),
    ("auth.callback", "GET"): (get("/auth/callback?code=x&state=y"), everyone(400)),
    ("auth.consent", "GET"): (
        get("/auth/consent"),
        table(anonymous=LOGIN_REDIRECT, residents=302, staff=302),
    ),
    ("auth.consent", "POST"): (
        post("/auth/consent", accept="y"),
        table(anonymous=LOGIN_REDIRECT, residents=302, staff=302),
    ),
    ("auth.logout", "POST"): (post("/auth/logout"), everyone(303)),
    ("auth.logged_out", "GET"): (get("/auth/logged-out"), everyone(200)),
    # The identity provider ends its sessions: anyone may ask, only the named session
    # ends (a front-channel request for an unknown sid ends nothing), and a logout token
    # must be signed by the provider.
    ("auth.frontchannel_logout", "GET"): (
        get("/auth/frontchannel-logout?iss=http://idp.test/dev-idp&sid=no-such-session"),
        everyone(200),
    ),
    ("auth.backchannel_logout", "POST"): (
        post("/auth/backchannel-logout", logout_token="not.a.token"),
        everyone(400),
    ),
    ("auth.staff_login", "GET"): (
        get("/staff/login"),
        table(anonymous=200, residents=200, staff=302),
    ),
    ("auth.staff_login", "POST"): (
        post("/staff/login", username="nobody", password="wrong"),
        everyone(422),
    ),
    # Passkeys: a challenge for anyone; an answer that is not JSON (no script) gets a page
    # that explains what is needed.
    ("auth.passkey_options", "POST"): (post("/staff/login/passkey/options"), everyone(200)),
    ("auth.passkey_login", "POST"): (post("/staff/login/passkey"), everyone(400)),
    # Passnøkler: one's own, for every staff member, with or without a unit.
    ("staff.passkey_list", "GET"): (
        get("/staff/passkeys"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=200),
    ),
    ("staff.passkey_options", "POST"): (
        post("/staff/passkeys/options"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=200),
    ),
    ("staff.passkey_add", "POST"): (
        post("/staff/passkeys", name="Telefon"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=400),
    ),
    # The scene's passkey is the coordinator's: nobody else finds it.
    ("staff.passkey_remove", "POST"): (
        post("/staff/passkeys/{passkey}/remove"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=404, staff_of_unit=303),
    ),
    ("auth.language", "POST"): (post("/language", lang="en", next="/"), everyone(303)),
    ("citizen.messages", "GET"): (get("/messages"), RESIDENT_PAGE),
    ("citizen.compose", "GET"): (get("/messages/new"), RESIDENT_PAGE),
    ("citizen.compose", "POST"): (
        post("/messages/new", service_id="{service}", subject="Hei", body="Tekst"),
        table(
            anonymous=LOGIN_REDIRECT,
            # Out-of-scope proxies write as themselves, and receive no service: refused.
            residents=422,
            resident=303,
            proxy_in_scope=303,
            staff=403,
        ),
    ),
    ("citizen.thread", "GET"): (
        get("/messages/{thread}"),
        table(
            anonymous=LOGIN_REDIRECT,
            residents=404,
            resident=200,
            proxy_in_scope=200,
            staff=403,
        ),
    ),
    ("citizen.reply", "POST"): (
        post("/messages/{thread}/reply", body="Tillegg"),
        table(
            anonymous=LOGIN_REDIRECT,
            residents=404,
            resident=303,
            proxy_in_scope=303,
            staff=403,
        ),
    ),
    ("citizen.appointments", "GET"): (get("/appointments"), RESIDENT_PAGE),
    ("citizen.appointment", "GET"): (
        get("/appointments/{appointment}"),
        table(
            anonymous=LOGIN_REDIRECT,
            residents=404,
            resident=200,
            proxy_in_scope=200,
            staff=403,
        ),
    ),
    ("citizen.cancel", "GET"): (
        get("/appointments/{appointment}/cancel"),
        table(
            anonymous=LOGIN_REDIRECT,
            residents=404,
            resident=200,
            proxy_in_scope=200,
            staff=403,
        ),
    ),
    ("citizen.cancel", "POST"): (
        post("/appointments/{appointment}/cancel", kind="single", step="confirm"),
        table(
            anonymous=LOGIN_REDIRECT,
            residents=404,
            resident=303,
            proxy_in_scope=303,
            staff=403,
        ),
    ),
    ("citizen.cancellation", "GET"): (
        get("/appointments/cancellations/{cancellation}"),
        table(
            anonymous=LOGIN_REDIRECT,
            residents=404,
            resident=200,
            proxy_in_scope=200,
            staff=403,
        ),
    ),
    ("citizen.contacts", "GET"): (get("/contacts"), RESIDENT_PAGE),
    ("citizen.profile", "GET"): (
        get("/profile"),
        table(
            anonymous=LOGIN_REDIRECT,
            residents=200,  # out-of-scope proxies fall back to themselves
            proxy_in_scope=403,  # a proxy never opens the grantor's profile
            staff=403,
        ),
    ),
    ("citizen.contact", "GET"): (get("/profile/contact"), PROFILE_PAGE),
    ("citizen.contact", "POST"): (
        post("/profile/contact", email="a@b.example", channel="email", level="normal"),
        table(
            anonymous=LOGIN_REDIRECT,
            residents=303,
            proxy_in_scope=403,
            staff=403,
        ),
    ),
    ("citizen.usage_log", "GET"): (get("/profile/log"), PROFILE_PAGE),
    ("citizen.fullmakter", "GET"): (get("/profile/fullmakter"), FULLMAKT_PAGE),
    ("citizen.fullmakt_new", "GET"): (get("/profile/fullmakter/new"), FULLMAKT_PAGE),
    ("citizen.fullmakt_new", "POST"): (
        post("/profile/fullmakter/new", fodselsnummer="{resident_fnr}", family_name="Resident"),
        table(
            anonymous=LOGIN_REDIRECT,
            # Rita finds nobody who can receive one (herself: 422); the others find her and
            # are sent on to step two, except the parent, who acts for the child and may
            # not grant for it.
            residents=303,
            resident=422,
            proxy_in_scope=403,
            parent=403,
            staff=403,
        ),
    ),
    ("citizen.fullmakt_details", "GET"): (
        get("/profile/fullmakter/new/details"),
        table(anonymous=LOGIN_REDIRECT, residents=302, proxy_in_scope=403, parent=403, staff=403),
    ),
    ("citizen.fullmakt_details", "POST"): (
        post("/profile/fullmakter/new/details", duration="indefinite", scope="all"),
        table(anonymous=LOGIN_REDIRECT, residents=302, proxy_in_scope=403, parent=403, staff=403),
    ),
    ("citizen.fullmakt_edit", "GET"): (
        get("/profile/fullmakter/{fullmakt}/edit"),
        table(
            anonymous=LOGIN_REDIRECT,
            residents=404,
            resident=200,
            proxy_in_scope=403,
            parent=403,
            staff=403,
        ),
    ),
    # Rita widens it to all areas: she is shown what changes before anything is saved.
    ("citizen.fullmakt_edit", "POST"): (
        post("/profile/fullmakter/{fullmakt}/edit", duration="indefinite", scope="all"),
        table(
            anonymous=LOGIN_REDIRECT,
            residents=404,
            resident=200,
            proxy_in_scope=403,
            parent=403,
            staff=403,
        ),
    ),
    ("citizen.fullmakt_end", "POST"): (
        post("/profile/fullmakter/{fullmakt}/end", step="confirm"),
        table(
            anonymous=LOGIN_REDIRECT,
            residents=404,
            resident=303,
            proxy_in_scope=403,
            parent=403,
            staff=403,
        ),
    ),
    ("citizen.act_for", "POST"): (
        post("/act-for", person_id="{resident}"),
        table(
            anonymous=LOGIN_REDIRECT,
            residents=403,
            resident=303,
            proxy_in_scope=303,
            staff=403,
        ),
    ),
    ("staff.queue", "GET"): (get("/staff/"), STAFF_PAGE),
    ("staff.all_threads", "GET"): (
        get("/staff/threads?status=open&person={resident}&q=Rita"),
        # Another unit has no thread with Rita: the filter is refused, and says nothing more.
        {**STAFF_PAGE, "staff_of_other_unit": {422}, "staff_of_other_municipality": {422}},
    ),
    ("staff.thread", "GET"): (get("/staff/threads/{thread}"), UNIT_OBJECT),
    ("staff.reply", "POST"): (post("/staff/threads/{thread}/reply", body="Svar"), UNIT_ACTION),
    ("staff.interim", "POST"): (
        post(
            "/staff/threads/{thread}/interim",
            body="Snart",
            next_date="2099-01-02",
            next_time="10:00",
        ),
        UNIT_ACTION,
    ),
    ("staff.urgent", "POST"): (post("/staff/threads/{thread}/urgent", urgent="1"), UNIT_ACTION),
    ("staff.assign", "GET"): (get("/staff/threads/{thread}/assign"), UNIT_OBJECT),
    ("staff.forward", "GET"): (get("/staff/threads/{thread}/forward"), UNIT_OBJECT),
    ("staff.assign", "POST"): (
        post("/staff/threads/{thread}/assign", assignee_id="{colleague}"),
        UNIT_ACTION,
    ),
    ("staff.forward", "POST"): (
        post("/staff/threads/{thread}/forward", unit_id="{other_unit}"),
        UNIT_ACTION,
    ),
    ("staff.pass_on", "POST"): (
        post(
            "/staff/threads/{thread}/pass-on",
            method="phone",
            recipient="Fastlegen",
            relayed="no",
            body="Sendt videre",
        ),
        UNIT_ACTION,
    ),
    ("staff.close", "POST"): (
        post("/staff/threads/{thread}/close", confirmed="yes"),
        UNIT_ACTION,
    ),
    ("staff.journal", "POST"): (post("/staff/messages/{message}/journal"), UNIT_ACTION),
    ("staff.journal_note", "GET"): (get("/staff/messages/{message}/journal"), UNIT_OBJECT),
    ("staff.compose", "GET"): (get("/staff/messages/new"), STAFF_PAGE),
    ("staff.compose", "POST"): (
        post("/staff/messages/new", person_id="{resident}", subject="Hei", body="Tekst"),
        table(
            anonymous=LOGIN_REDIRECT,
            residents=403,
            staff=422,  # not a recipient of their unit: refused, nothing written
            staff_of_unit=303,
            leader=303,
            admin=302,
        ),
    ),
    ("staff.welcome", "GET"): (get("/staff/welcome"), STAFF_PAGE),
    ("staff.welcome", "POST"): (
        post("/staff/welcome", subject="Velkommen", body="Hei"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=303, admin=302),
    ),
    ("staff.recipients", "GET"): (get("/staff/recipients"), STAFF_PAGE),
    ("staff.recipient", "GET"): (
        get("/staff/recipients/{resident}"),
        table(
            anonymous=LOGIN_REDIRECT,
            residents=403,
            staff=404,
            staff_of_unit=200,
            leader=200,
            admin=302,
        ),
    ),
    ("staff.choose_unit", "GET"): (
        get("/staff/unit"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=200),
    ),
    ("staff.choose_unit", "POST"): (
        post("/staff/unit", unit_id="{unit}"),
        table(
            anonymous=LOGIN_REDIRECT,
            residents=403,
            staff=403,
            staff_of_unit=303,
            leader=303,
        ),
    ),
    ("staff.planning", "GET"): (get("/staff/planning"), STAFF_PAGE),
    ("staff.visit_assign", "POST"): (
        post("/staff/planning/visits/{appointment}/assign", employee_id="{colleague}", at="09:00"),
        UNIT_ACTION,
    ),
    ("staff.visit_cancel", "POST"): (
        post("/staff/planning/visits/{appointment}/cancel", reason="Sykdom"),
        UNIT_ACTION,
    ),
    ("staff.series_new", "GET"): (get("/staff/recipients/{resident}/series/new"), UNIT_OBJECT),
    ("staff.series_new", "POST"): (
        post(
            "/staff/recipients/{resident}/series/new",
            weekdays="MO",
            interval="1",
            starts_on="2099-01-05",
            window_start="09:00",
            window_end="10:00",
            description="Tilsyn",
        ),
        UNIT_ACTION,
    ),
    ("staff.series_edit", "GET"): (get("/staff/series/{series}"), UNIT_OBJECT),
    ("staff.series_edit", "POST"): (
        post(
            "/staff/series/{series}",
            weekdays="TU",
            interval="1",
            starts_on="2099-01-05",
            window_start="09:00",
            window_end="10:00",
            description="Tilsyn",
        ),
        UNIT_ACTION,
    ),
    ("staff.series_end", "POST"): (
        post("/staff/series/{series}/end", ends_on="2099-02-01"),
        UNIT_ACTION,
    ),
    ("staff.cancellations", "GET"): (get("/staff/cancellations"), STAFF_PAGE),
    ("staff.cancellation_acknowledge", "POST"): (
        post("/staff/cancellations/{cancellation}/acknowledge"),
        UNIT_ACTION,
    ),
    ("staff.visits", "GET"): (get("/staff/visits"), STAFF_PAGE),
    ("staff.visit_complete", "POST"): (
        post("/staff/visits/{visit}/complete", idempotency_key="form-key-0001"),
        UNIT_ACTION,
    ),
    # Angre: the scene's visit is assigned, not done, so there is nothing to undo (refused,
    # back to the list); tests/web/test_staff_appointments.py undoes a real registration.
    ("staff.visit_undo", "POST"): (post("/staff/visits/{visit}/undo"), UNIT_ACTION),
    ("staff.failed_notices", "GET"): (get("/staff/notices"), STAFF_PAGE),
    # Fullmakter to approve: the leader of a unit serving the grantor (Rita), nobody else.
    ("staff.fullmakter", "GET"): (
        get("/staff/fullmakter"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, leader=200, admin=302),
    ),
    ("staff.fullmakt_approve", "POST"): (
        post("/staff/fullmakter/{pending}/approve"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, leader=303, admin=302),
    ),
    ("staff.fullmakt_reject", "POST"): (
        post("/staff/fullmakter/{pending}/reject"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, leader=303, admin=302),
    ),
    ("staff.notice_retry", "POST"): (post("/staff/notices/{failed_notice}/retry"), UNIT_ACTION),
    ("pwa.manifest", "GET"): (get("/manifest.webmanifest"), everyone(200)),
    ("pwa.service_worker", "GET"): (get("/sw.js"), everyone(200)),
    ("pwa.offline", "GET"): (get("/offline"), everyone(200)),
    ("admin.fullmakter", "GET"): (
        get("/admin/fullmakter"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=200),
    ),
    ("admin.fullmakter", "POST"): (
        post(
            "/admin/fullmakter",
            grantor="{resident_fnr}",
            grantee="{proxy_fnr}",
            document_reference="SAK 1",
            lacks_consent_competence="y",
            assessment="Fastlegen, legeerklæring",
            valid_from="2026-01-01",
        ),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=303),
    ),
    # An assigned fullmakt another administrator registered: a second person approves it.
    ("admin.fullmakt_approve", "POST"): (
        post("/admin/fullmakter/{pending}/approve"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=303),
    ),
    ("admin.fullmakt_reject", "POST"): (
        post("/admin/fullmakter/{pending}/reject"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=303),
    ),
    ("admin.fullmakt_end", "POST"): (
        post("/admin/fullmakter/{assigned}/end"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=303),
    ),
    ("admin.failed_notices", "GET"): (
        get("/admin/notices"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=200),
    ),
    ("admin.notice_retry", "POST"): (
        post("/admin/notices/{failed_notice}/retry"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=303),
    ),
    ("admin.staff_deactivate", "GET"): (
        get("/admin/staff/{colleague}/deactivate"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=200),
    ),
    ("admin.staff_deactivate", "POST"): (
        post("/admin/staff/{colleague}/deactivate"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=303),
    ),
    # Staff accounts: the administrator only; each change writes the audit trail.
    # Service recipients: the administrator only; each change writes the audit trail.
    ("admin.recipients", "GET"): (
        get("/admin/recipients?service={service}&q=rita"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=200),
    ),
    ("admin.recipient_new", "GET"): (
        get("/admin/recipients/new"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=200),
    ),
    ("admin.recipient_new", "POST"): (
        post(
            "/admin/recipients/new",
            fodselsnummer="{proxy_fnr}",
            unit="{other_unit}",
            valid_from="2026-01-01",
        ),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=303),
    ),
    ("admin.recipient_end", "GET"): (
        get("/admin/recipients/{receipt}/end"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=200),
    ),
    ("admin.recipient_end", "POST"): (
        post("/admin/recipients/{receipt}/end", last_day="2030-01-01"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=303),
    ),
    # Without a file: refused with a message (the file itself is tested elsewhere).
    ("admin.recipients_import", "GET"): (
        get("/admin/recipients/import"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=200),
    ),
    ("admin.recipients_import", "POST"): (
        post("/admin/recipients/import"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=422),
    ),
    ("admin.staff_list", "GET"): (
        get("/admin/staff?q=a"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=200),
    ),
    ("admin.api_clients", "GET"): (
        get("/admin/api-clients"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=200),
    ),
    ("admin.api_client_new", "GET"): (
        get("/admin/api-clients/new"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=200),
    ),
    ("admin.api_client_new", "POST"): (
        # A list: the key's JSON is not a template for the scene's ids.
        post(
            "/admin/api-clients/new",
            name="Testby EPJ",
            jwks=[SCENE_API_KEYS],
            scopes="system/Patient.rs",
        ),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=303),
    ),
    ("admin.api_client", "GET"): (
        get("/admin/api-clients/{api_client}"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=200),
    ),
    ("admin.api_client_revoke", "GET"): (
        get("/admin/api-clients/{api_client}/revoke"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=200),
    ),
    ("admin.api_client_revoke", "POST"): (
        post("/admin/api-clients/{api_client}/revoke"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=303),
    ),
    ("admin.api_event_retry", "POST"): (
        post("/admin/api-clients/{api_client}/events/{api_event}/retry"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=303),
    ),
    ("admin.staff_create", "GET"): (
        get("/admin/staff/new"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=200),
    ),
    ("admin.staff_create", "POST"): (
        post(
            "/admin/staff/new",
            full_name="Nina Ny",
            username="nina.ny",
            roles="{unit}:ansatt",
            password="lang nok passord",
            password_again="lang nok passord",
        ),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=303),
    ),
    ("admin.staff_edit", "GET"): (
        get("/admin/staff/{colleague}"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=200),
    ),
    ("admin.staff_edit", "POST"): (
        post("/admin/staff/{colleague}", full_name="Anne Ansatt", roles="{unit}:leder"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=303),
    ),
    ("admin.staff_reactivate", "POST"): (
        post("/admin/staff/{colleague}/reactivate"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=303),
    ),
    ("admin.staff_password", "GET"): (
        get("/admin/staff/{colleague}/password"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=200),
    ),
    ("admin.staff_password", "POST"): (
        post(
            "/admin/staff/{colleague}/password",
            password="lang nok passord",
            password_again="lang nok passord",
        ),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=303),
    ),
    ("admin.staff_passkey_revoke", "POST"): (
        post("/admin/staff/{coordinator}/passkeys/{passkey}/revoke"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=303),
    ),
    # Velg nytt passord: only after a one-time password; otherwise on to the staff pages.
    ("auth.staff_new_password", "GET"): (
        get("/staff/password"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=303),
    ),
    ("auth.staff_new_password", "POST"): (
        post("/staff/password", password="lang nok passord", password_again="lang nok passord"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=303),
    ),
    ("admin.index", "GET"): (
        get("/admin/"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=200),
    ),
    # Administrative changes: the administrator only; each writes the audit trail.
    ("admin.service_edit", "GET"): (
        get("/admin/services/{service}"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=200),
    ),
    ("admin.service_edit", "POST"): (
        post("/admin/services/{service}", open_for_dialog="y"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=303),
    ),
    ("admin.settings", "GET"): (
        get("/admin/settings"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=200),
    ),
    ("admin.settings", "POST"): (
        post("/admin/settings", reply_deadline_working_days="2", notice_sender_name="Testby"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=303),
    ),
    ("admin.unit_edit", "GET"): (
        get("/admin/units/{unit}"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=200),
    ),
    ("admin.unit_edit", "POST"): (
        post("/admin/units/{unit}", phone="22 33 44 55", auto_journal="y"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, admin=303),
    ),
    # Endringslogg: the administrator's whole municipality, a leader's own units.
    ("admin.changes", "GET"): (
        get("/admin/changes"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, leader=200, admin=200),
    ),
    # Oversikt: figures for the units a leader leads, or all the administrator's; nobody else.
    ("staff.oversikt", "GET"): (
        get("/staff/oversikt?period=range&start=2026-01-01&end=2026-01-31"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, leader=200, admin=200),
    ),
    ("staff.oversikt_csv", "GET"): (
        get("/staff/oversikt.csv?table=weeks&period=week"),
        table(anonymous=LOGIN_REDIRECT, residents=403, staff=403, leader=200, admin=200),
    ),
    ("dev_idp.discovery", "GET"): (
        get("/dev-idp/.well-known/openid-configuration"),
        everyone(200),
    ),
    ("dev_idp.jwks", "GET"): (get("/dev-idp/jwks"), everyone(200)),
    ("dev_idp.authorize", "GET"): (get("/dev-idp/authorize?client_id=x"), everyone(400)),
    ("dev_idp.authorize", "POST"): (
        post("/dev-idp/authorize", client_id="x"),
        everyone(400),
    ),
    ("dev_idp.token", "POST"): (post("/dev-idp/token", code="x"), everyone(401)),
    ("dev_idp.end_session", "GET"): (get("/dev-idp/endsession"), everyone(303)),
    # Development only, like the test provider: what would have been sent, no names.
    ("dev.outbox", "GET"): (get("/dev/outbox"), everyone(200)),
}


def _appointments(db, world):
    """A future visit, one to cancel, and one assigned for today (Rita's, in the unit)."""
    made = []
    for days, status in (
        (2, AppointmentStatus.PLANNED),
        (3, AppointmentStatus.PLANNED),
        (0, AppointmentStatus.ASSIGNED),
    ):
        day = oslo_today() + timedelta(days=days)
        a = Appointment(
            person_id=world.resident.id,
            service_id=world.nursing.id,
            unit_id=world.unit.id,
            status=status,
            window_start=local_to_utc(day, time(23)),
            window_end=local_to_utc(day, time(23, 30)),
            description="Kveldsbesøk",
            created_at=utcnow(),
        )
        if status is AppointmentStatus.ASSIGNED:
            a.employee_staff_id, a.start_at = world.employee.id, a.window_start
        db.add(a)
        made.append(a)
    db.flush()
    return made


def build_scene(db: Session, world: factories.World) -> Scene:
    """Rita's thread, appointments, series, cancellation, fullmakter and a failed notice."""
    thread = messaging.thread_start(
        db,
        actor_for(db, world.resident),
        service_id=world.nursing.id,
        subject="Spørsmål fra Rita",
        body="Hei fra Rita",
        submission_key=None,
        now=utcnow(),
    )
    message = db.scalars(sa.select(Message).where(Message.thread_id == thread.id)).one()
    appointment, cancelled, today_visit = _appointments(db, world)
    series = appointment_service.series_create(
        db,
        actor_for(db, world.coordinator),
        person_id=world.resident.id,
        weekdays=["MO"],
        interval=1,
        starts_on=oslo_today() + timedelta(days=30),
        ends_on=None,
        window_start=time(7),
        window_end=time(8),
        description="Serie",
        now=utcnow(),
    )
    cancellation = appointment_service.appointments_cancel(
        db,
        actor_for(db, world.resident),
        appointment_id=cancelled.id,
        kind=CancellationKind.SINGLE,
        period_start=None,
        period_end=None,
        service_ids=[],
        note=None,
        submission_key=None,
        now=utcnow(),
    )
    given = db.scalars(sa.select(Fullmakt).where(Fullmakt.grantee_id == world.proxy.id)).one()
    assigned_to = factories.person(db, "Verge", "Vergesen")
    assigned = factories.fullmakt(
        db, world.resident, assigned_to, kind=FullmaktKind.ASSIGNED, registered_by=world.admin
    )
    pending = factories.fullmakt(
        db,
        world.resident,
        factories.person(db, "Vera", "Ventende"),
        kind=FullmaktKind.ASSIGNED,
        registered_by=factories.staff(
            db, world.municipality, "admin-to", [(StaffRoleKind.MUNICIPAL_ADMIN, None)]
        ),
        pending=True,
    )
    failed_notice = factories.failed_notice(db, world)
    passkey = PasskeyCredential(
        staff_id=world.coordinator.id,
        credential_id=b"scene-passkey",
        public_key=b"not-a-key",
        sign_count=0,
        name="Jobbtelefon",
        created_at=utcnow(),
    )
    db.add(passkey)
    db.flush()
    api_client = factories.api_client(db, world.municipality, json.loads(SCENE_API_KEYS))
    api_subscription = factories.api_subscription(db, api_client)
    api_event = factories.failed_api_event(db, api_subscription, appointment.id)
    return Scene(
        world,
        {
            "resident": world.resident.id,
            "unit": world.unit.id,
            "other_unit": world.other_unit.id,
            "service": world.nursing.id,
            "thread": thread.id,
            "message": message.id,
            "colleague": world.employee.id,
            "coordinator": world.coordinator.id,
            "appointment": appointment.id,
            "cancellation": cancellation.id,
            "series": series.id,
            "visit": today_visit.id,
            "fullmakt": given.id,
            "assigned": assigned.id,
            "pending": pending.id,
            "resident_fnr": world.resident.fodselsnummer,
            "proxy_fnr": world.proxy.fodselsnummer,
            "failed_notice": failed_notice.id,
            "passkey": passkey.id,
            "api_client": api_client.id,
            "subscription": api_subscription.id,
            "api_event": api_event.id,
            "receipt": db.scalars(
                sa.select(ServiceRecipient.id).where(
                    ServiceRecipient.person_id == world.resident.id
                )
            ).first(),
        },
    )


def test_every_route_is_in_the_table(app: Flask):
    routes = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routes - ROUTES.keys() == set(), "add the new routes to ROUTES"
    assert ROUTES.keys() - routes == set(), "remove routes that no longer exist"


def _sign_in(role: str, db: Session, login: LoginHelper, world: factories.World) -> None:
    now = utcnow()
    if role == "anonymous":
        return
    if role == "resident":
        login.resident(world.resident)
    elif role == "proxy_in_scope":
        login.resident(world.proxy, acting_for=world.resident)
    elif role == "proxy_out_of_scope":
        other = factories.person(db, "Olav", "Outside")
        factories.fullmakt(db, world.resident, other, areas=("legemidler",))
        login.resident(other, acting_for=world.resident)
    elif role == "expired_proxy":
        former = factories.person(db, "Frida", "Former")
        factories.fullmakt(
            db,
            world.resident,
            former,
            areas=(APPOINTMENTS_AND_PROVIDERS,),
            valid_from=now - timedelta(days=30),
            valid_to=now - timedelta(days=1),
        )
        login.resident(former, acting_for=world.resident)
    elif role == "parent":
        parent = factories.person(db, "Pia", "Parent")
        child = factories.person(db, "Carl", "Child", born=date(2019, 6, 1), active=False)
        factories.parent_of(db, parent, child)
        login.resident(parent, acting_for=child)
    elif role == "staff_of_unit":
        login.staff(world.coordinator)
    elif role == "staff_of_other_unit":
        login.staff(world.other_unit_staff)
    elif role == "staff_of_other_municipality":
        login.staff(world.foreign_staff)
    elif role == "leader":
        login.staff(world.leader, unit_id=world.unit.id)
    elif role == "admin":
        login.staff(world.admin)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", sorted(ROUTES), ids=lambda r: f"{r[0]}-{r[1]}")
def test_route_by_role(
    route: tuple[str, str],
    role: str,
    client: FlaskClient,
    db: Session,
    login: LoginHelper,
    world: factories.World,
    idp,
):
    make_request, expected = ROUTES[route]
    _sign_in(role, db, login, world)
    scene = build_scene(db, world)
    path, data = make_request(scene)
    if route[1] == "GET":
        response = client.get(path)
    else:
        body = dict(data or {})
        body.setdefault("csrf_token", csrf_token(client, "/auth/logged-out"))
        body.setdefault("submission_key", f"{route[0]}-{role}")
        response = client.open(path, method=route[1], data=body)
    body = response.get_data(as_text=True)
    response.close()
    assert response.status_code in expected[role], (
        f"{role} {route[1]} {path}: {response.status_code}, expected {expected[role]}"
    )
    if role not in SEES_RESIDENT and route not in NAMES_BY_DESIGN:
        assert RESIDENT_NAME not in body
        assert "Hei fra Rita" not in body


# --- the record-system API, by client role -------------------------------------------------

API_ROLES = (
    "no_token",
    "record_system",  # a client of the resident's municipality with every scope
    "without_scope",  # the same municipality, registered for appointments only
    "other_municipality",
    "provider",  # a GP office's client: publishes its appointments, reads no one
    "revoked",
)
# Who may read the resident through the API (the second by its visits only).
API_SEES_RESIDENT = {"record_system", "without_scope"}


def api_table(**by_role: int) -> dict[str, int]:
    missing = set(API_ROLES) - set(by_role)
    assert not missing, f"table row lacks roles {missing}"
    return by_role


API_EVERYONE_200 = api_table(
    no_token=200,
    record_system=200,
    without_scope=200,
    other_municipality=200,
    provider=200,
    revoked=200,
)
API_ROUTES: dict[tuple[str, str], tuple[str, dict[str, int]]] = {
    ("api.token", "POST"): (
        "/oauth/token",
        api_table(
            no_token=400,
            record_system=200,
            without_scope=200,
            other_municipality=200,
            provider=200,
            revoked=401,
        ),
    ),
    ("api.jwks", "GET"): ("/oauth/jwks", API_EVERYONE_200),
    ("api.metadata", "GET"): ("/fhir/R4/metadata", API_EVERYONE_200),
    ("api.smart_configuration", "GET"): (
        "/fhir/R4/.well-known/smart-configuration",
        API_EVERYONE_200,
    ),
    ("api.patient_read", "GET"): (
        "/fhir/R4/Patient/{resident}",
        api_table(
            no_token=401,
            record_system=200,
            without_scope=403,
            other_municipality=404,
            provider=403,
            revoked=401,
        ),
    ),
    ("api.appointment_read", "GET"): (
        "/fhir/R4/Appointment/{appointment}",
        api_table(
            no_token=401,
            record_system=200,
            without_scope=200,
            other_municipality=404,
            provider=404,  # the municipality's visit, not the provider's
            revoked=401,
        ),
    ),
    ("api.appointment_search", "GET"): (
        "/fhir/R4/Appointment?patient=Patient/{resident}",
        api_table(
            no_token=401,
            record_system=200,
            without_scope=200,
            other_municipality=200,  # an empty Bundle
            provider=200,  # an empty Bundle
            revoked=401,
        ),
    ),
    ("api.appointment_create", "POST"): (
        "/fhir/R4/Appointment",
        api_table(
            no_token=401,
            record_system=201,
            without_scope=201,
            other_municipality=422,  # the patient is not its municipality's
            provider=201,  # the provider's own appointment for the resident
            revoked=401,
        ),
    ),
    ("api.appointment_update", "PUT"): (
        "/fhir/R4/Appointment/{appointment}",
        api_table(
            no_token=401,
            record_system=200,
            without_scope=200,
            other_municipality=404,
            provider=404,
            revoked=401,
        ),
    ),
    ("api.appointment_conditional_update", "PUT"): (
        "/fhir/R4/Appointment?identifier=urn:epj|{resident}",
        api_table(
            no_token=401,
            record_system=201,
            without_scope=201,
            other_municipality=422,
            provider=201,
            revoked=401,
        ),
    ),
    ("api.communication_read", "GET"): (
        "/fhir/R4/Communication/{message}",
        api_table(
            no_token=401,
            record_system=200,
            without_scope=403,
            other_municipality=404,
            provider=403,
            revoked=401,
        ),
    ),
    ("api.communication_search", "GET"): (
        "/fhir/R4/Communication?patient=Patient/{resident}",
        api_table(
            no_token=401,
            record_system=200,
            without_scope=403,
            other_municipality=200,  # an empty Bundle
            provider=403,
            revoked=401,
        ),
    ),
    ("api.communication_create", "POST"): (
        "/fhir/R4/Communication",
        api_table(
            no_token=401,
            record_system=201,
            without_scope=403,
            other_municipality=404,
            provider=403,
            revoked=401,
        ),
    ),
    ("api.communication_journal", "POST"): (
        "/fhir/R4/Communication/{message}/$journal",
        api_table(
            no_token=401,
            record_system=200,
            without_scope=403,
            other_municipality=404,
            provider=403,
            revoked=401,
        ),
    ),
    ("api.patient_search", "GET"): (
        "/fhir/R4/Patient?_id={resident}",
        api_table(
            no_token=401,
            record_system=200,
            without_scope=403,
            other_municipality=200,  # an empty Bundle
            provider=403,
            revoked=401,
        ),
    ),
    # The subscription is the record system's own; for every other role, another record
    # system's of the resident's municipality.
    ("api.subscription_create", "POST"): (
        "/fhir/R4/Subscription",
        api_table(
            no_token=401,
            record_system=201,
            without_scope=403,
            other_municipality=201,  # told of its own municipality's cancellations
            provider=403,
            revoked=401,
        ),
    ),
    ("api.subscription_search", "GET"): (
        "/fhir/R4/Subscription",
        api_table(
            no_token=401,
            record_system=200,
            without_scope=403,
            other_municipality=200,  # an empty Bundle
            provider=403,
            revoked=401,
        ),
    ),
    ("api.subscription_read", "GET"): (
        "/fhir/R4/Subscription/{subscription}",
        api_table(
            no_token=401,
            record_system=200,
            without_scope=403,
            other_municipality=404,
            provider=403,
            revoked=401,
        ),
    ),
    ("api.subscription_update", "PUT"): (
        "/fhir/R4/Subscription/{subscription}",
        api_table(
            no_token=401,
            record_system=200,
            without_scope=403,
            other_municipality=404,
            provider=403,
            revoked=401,
        ),
    ),
    ("api.subscription_delete", "DELETE"): (
        "/fhir/R4/Subscription/{subscription}",
        api_table(
            no_token=401,
            record_system=200,
            without_scope=403,
            other_municipality=404,
            provider=403,
            revoked=401,
        ),
    ),
}


def test_every_api_route_is_in_the_api_table(app: Flask):
    routes = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routes == API_ROUTES.keys()


def _api_visit(world: factories.World, appointment: Appointment) -> dict:
    """An Appointment for the resident, as a record system sends one."""
    return {
        "resourceType": "Appointment",
        "status": "proposed",
        "description": "Kveldsbesøk",
        "requestedPeriod": [
            {
                "start": appointment.window_start.isoformat(),
                "end": appointment.window_end.isoformat(),
            }
        ],
        "participant": [
            {"actor": {"reference": f"Patient/{world.resident.id}"}, "status": "accepted"}
        ],
    }


def _api_reply(world: factories.World, message: Message) -> dict:
    """A reply to the resident's message, as a record system sends one."""
    return {
        "resourceType": "Communication",
        "status": "completed",
        "inResponseTo": [{"reference": f"Communication/{message.id}"}],
        "sender": {
            "identifier": {
                "system": "urn:hjemmedialog:staff-username",
                "value": world.coordinator.username,
            }
        },
        "payload": [{"contentString": "Svar fra journalsystemet"}],
    }


def _api_subscription() -> dict:
    """A subscription to cancelled visits, as a record system sends one."""
    return {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "Avlysninger",
        "criteria": "Appointment?status=cancelled",
        "channel": {"type": "rest-hook", "endpoint": "https://epj.test.example/hooks"},
    }


def _api_client(db: Session, world: factories.World, role: str):
    if role == "no_token":
        return None
    system = RecordSystem()
    municipality = world.other_municipality if role == "other_municipality" else world.municipality
    scopes = {
        "without_scope": "system/Appointment.crus",
        "provider": "system/Appointment.crus",
    }.get(role, factories.ALL_API_SCOPES)
    row = factories.api_client(
        db,
        municipality,
        system.public_jwks,
        scopes=scopes,
        provider="Testby legekontor" if role == "provider" else None,
    )
    system.client_id = row.client_id
    system.row = row
    return system


@pytest.mark.parametrize("role", API_ROLES)
@pytest.mark.parametrize("route", sorted(API_ROUTES), ids=lambda r: f"{r[0]}-{r[1]}")
def test_api_route_by_client_role(
    route: tuple[str, str], role: str, client: FlaskClient, db: Session, world: factories.World
):
    from tests.support import API_TOKEN_URL

    path_template, expected = API_ROUTES[route]
    (appointment, *_) = _appointments(db, world)
    thread = messaging.thread_start(
        db,
        actor_for(db, world.resident),
        service_id=world.nursing.id,
        subject="Spørsmål fra Rita",
        body="Hei fra Rita",
        submission_key=None,
        now=utcnow(),
    )
    message = db.scalars(sa.select(Message).where(Message.thread_id == thread.id)).one()
    system = _api_client(db, world, role)
    owner = (
        system.row
        if role == "record_system"
        else factories.api_client(db, world.municipality, RecordSystem().public_jwks)
    )
    subscription = factories.api_subscription(db, owner)
    path = path_template.format(
        resident=world.resident.id,
        appointment=appointment.id,
        message=message.id,
        subscription=subscription.id,
    )
    headers = {}
    if system is not None and route != ("api.token", "POST"):
        headers["Authorization"] = f"Bearer {system.token(client)}"
    if role == "revoked":
        system.row.revoked_at = utcnow()
        db.flush()
    if route == ("api.token", "POST"):
        form = system.token_form(API_TOKEN_URL) if system is not None else {}
        response = client.post(path, data=form, headers=headers)
    elif route[1] == "GET":
        response = client.get(path, headers=headers)
    elif route in {("api.communication_journal", "POST"), ("api.subscription_delete", "DELETE")}:
        response = client.open(path, method=route[1], headers=headers)
    else:
        if route[0].startswith("api.communication"):
            body = _api_reply(world, message)
        elif route[0].startswith("api.subscription"):
            body = _api_subscription()
        else:
            body = _api_visit(world, appointment)
        response = client.open(path, method=route[1], json=body, headers=headers)
    assert response.status_code == expected[role], (
        f"{role} {route[1]} {path}: {response.status_code}, expected {expected[role]}"
    )
    assert response.mimetype in ("application/json", "application/fhir+json")
    if role not in API_SEES_RESIDENT:
        assert "Rita" not in response.get_data(as_text=True)
