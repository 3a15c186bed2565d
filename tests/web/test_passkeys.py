"""Passkeys for staff (docs/product.md 5.1, docs/quality.md R8), with a software authenticator."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.clock import utcnow
from app.models import LoginSession, PasskeyChallenge, PasskeyCredential
from tests.authenticator import SoftAuthenticator
from tests.support import csrf_token
from tests.web.test_staff_login import staff_login


def _post_json(client, url: str, body: dict | None = None):
    """As the script does: the CSRF token in a header, JSON in and out (no body for options)."""
    headers = {"X-CSRFToken": csrf_token(client, "/auth/logged-out"), "Accept": "application/json"}
    if body is None:
        return client.post(url, headers=headers)
    return client.post(url, json=body, headers=headers)


def add_passkey(client, authenticator: SoftAuthenticator, name: str = "Jobbtelefon", **answer):
    """As the logged-in staff member: options, the authenticator's answer, the name."""
    options = _post_json(client, "/staff/passkeys/options").get_json()
    credential = authenticator.create(options, **answer)
    return _post_json(client, "/staff/passkeys", {"name": name, "credential": credential})


def log_out(client) -> None:
    client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/auth/logged-out")})


def passkey_options(client) -> dict:
    response = _post_json(client, "/staff/login/passkey/options")
    assert response.status_code == 200
    return response.get_json()


def passkey_login(client, authenticator: SoftAuthenticator, options: dict | None = None, **kw):
    options = options or passkey_options(client)
    credential = authenticator.get(options, **kw)
    return _post_json(client, "/staff/login/passkey", {"credential": credential})


@pytest.fixture
def authenticator(client, db, world) -> SoftAuthenticator:
    """The coordinator added a passkey on this authenticator, and logged out."""
    device = SoftAuthenticator()
    staff_login(client, world.coordinator.username)
    added = add_passkey(client, device)
    assert added.status_code == 200, added.get_data(as_text=True)
    assert added.get_json() == {"redirect": "/staff/passkeys"}
    log_out(client)
    return device


def _passkey(db, world) -> PasskeyCredential:
    return db.scalars(
        sa.select(PasskeyCredential).where(PasskeyCredential.staff_id == world.coordinator.id)
    ).one()


def _sessions(db) -> list[LoginSession]:
    return list(db.scalars(sa.select(LoginSession).where(LoginSession.ended_at.is_(None))))


# --- registration -----------------------------------------------------------------------------


def test_a_registered_passkey_is_listed_with_its_name(client, db, world, authenticator):
    passkey = _passkey(db, world)
    assert passkey.name == "Jobbtelefon" and passkey.credential_id == authenticator.credential_id
    assert passkey.last_used_at is None
    staff_login(client, world.coordinator.username)
    page = client.get("/staff/passkeys").get_data(as_text=True)
    assert "Jobbtelefon" in page and "Ikke brukt ennå" in page


def test_registration_options_ask_for_a_discoverable_credential_and_user_verification(
    client, db, world
):
    staff_login(client, world.coordinator.username)
    options = _post_json(client, "/staff/passkeys/options").get_json()
    selection = options["authenticatorSelection"]
    assert selection["residentKey"] == "required" and selection["userVerification"] == "required"
    assert options["rp"]["id"] == "localhost"
    assert options["user"]["name"] == world.coordinator.username


def test_registration_from_another_origin_is_refused(client, db, world):
    staff_login(client, world.coordinator.username)
    refused = add_passkey(client, SoftAuthenticator(), origin="http://evil.example")
    assert refused.status_code == 400
    assert db.scalar(sa.select(sa.func.count()).select_from(PasskeyCredential)) == 0


def test_a_passkey_needs_a_name(client, db, world):
    staff_login(client, world.coordinator.username)
    refused = add_passkey(client, SoftAuthenticator(), name="  ")
    assert refused.status_code == 422 and "navn" in refused.get_json()["message"]


def test_without_javascript_adding_explains_what_is_needed(client, db, world):
    staff_login(client, world.coordinator.username)
    token = csrf_token(client, "/staff/passkeys")
    page = client.post("/staff/passkeys", data={"csrf_token": token, "name": "Telefon"})
    assert page.status_code == 400
    assert "nettleser med passnøkler" in page.get_data(as_text=True)


def test_a_passkey_can_be_removed_and_then_no_longer_logs_in(client, db, world, authenticator):
    staff_login(client, world.coordinator.username)
    passkey = _passkey(db, world)
    token = csrf_token(client, "/staff/passkeys")
    removed = client.post(f"/staff/passkeys/{passkey.id}/remove", data={"csrf_token": token})
    assert removed.status_code == 303
    page = client.get("/staff/passkeys").get_data(as_text=True)
    assert "Du har ingen passnøkler ennå" in page and "Jobbtelefon" not in page
    log_out(client)
    assert passkey_login(client, authenticator).status_code == 400


# --- log-in -------------------------------------------------------------------------------------


def test_log_in_with_the_passkey_alone(client, db, world, authenticator):
    options = passkey_options(client)
    assert options["userVerification"] == "required"
    assert options.get("allowCredentials", []) == []  # no username: the device offers its own
    response = passkey_login(client, authenticator, options)
    assert response.status_code == 200 and response.get_json() == {"redirect": "/staff/"}
    assert client.get("/staff/").status_code == 200
    (session,) = _sessions(db)
    assert session.staff_id == world.coordinator.id and session.auth_method == "passkey"
    passkey = _passkey(db, world)
    assert passkey.sign_count == 1 and passkey.last_used_at is not None


def test_after_a_passkey_the_page_asked_for_opens_but_never_another_site(
    client, db, world, authenticator
):
    asked_and_landing = (("/staff/recipients", "/staff/recipients"), ("//evil.example", "/staff/"))
    for asked, landing in asked_and_landing:
        credential = authenticator.get(passkey_options(client))
        body = {"credential": credential, "next": asked}
        response = _post_json(client, "/staff/login/passkey", body)
        assert response.get_json() == {"redirect": landing}
        log_out(client)


def test_several_units_means_choosing_one_after_a_passkey_too(client, db, world):
    device = SoftAuthenticator()
    staff_login(client, world.leader.username)
    assert add_passkey(client, device).status_code == 200
    log_out(client)
    response = passkey_login(client, device)
    assert response.get_json() == {"redirect": "/staff/unit"}


def test_a_replayed_challenge_is_refused(client, db, world, authenticator):
    options = passkey_options(client)
    answer = authenticator.get(options)
    assert _post_json(client, "/staff/login/passkey", {"credential": answer}).status_code == 200
    log_out(client)
    again = _post_json(client, "/staff/login/passkey", {"credential": answer})
    assert again.status_code == 400
    assert passkey_login(client, authenticator, options).status_code == 400  # signed anew
    assert _sessions(db) == []


def test_an_answer_for_another_origin_is_refused(client, db, world, authenticator):
    response = passkey_login(client, authenticator, origin="http://evil.example")
    assert response.status_code == 400 and _sessions(db) == []


def test_an_answer_for_another_rp_id_is_refused(client, db, world, authenticator):
    response = passkey_login(client, authenticator, rp_id="evil.example")
    assert response.status_code == 400 and _sessions(db) == []


def test_the_rp_id_and_origin_come_from_configuration(
    app, client, db, world, authenticator, monkeypatch
):
    monkeypatch.setitem(app.config, "WEBAUTHN_RP_ID", "hjemmedialog.example")
    monkeypatch.setitem(app.config, "WEBAUTHN_ORIGIN", "https://hjemmedialog.example")
    options = passkey_options(client)
    assert options["rpId"] == "hjemmedialog.example"
    # The authenticator signs for localhost, as registered: refused under the new settings.
    assert passkey_login(client, authenticator, options).status_code == 400


def test_a_counter_that_does_not_increase_is_refused_as_a_clone(
    client, db, world, authenticator, caplog
):
    assert passkey_login(client, authenticator, counter=5).status_code == 200
    log_out(client)
    with caplog.at_level(logging.ERROR, logger="hjemmedialog.passkeys"):
        assert passkey_login(client, authenticator, counter=5).status_code == 400
    assert "cloned authenticator" in caplog.text
    assert _passkey(db, world).sign_count == 5
    assert passkey_login(client, authenticator, counter=6).status_code == 200


def test_an_expired_challenge_is_refused(client, db, world, authenticator):
    options = passkey_options(client)
    db.execute(sa.update(PasskeyChallenge).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert passkey_login(client, authenticator, options).status_code == 400


def test_a_challenge_lives_five_minutes(client, db, world, authenticator):
    passkey_options(client)
    challenge = db.scalars(
        sa.select(PasskeyChallenge).where(PasskeyChallenge.purpose == "login")
    ).one()
    assert challenge.expires_at - challenge.created_at == timedelta(minutes=5)


def test_without_user_verification_the_passkey_is_refused(client, db, world, authenticator):
    assert passkey_login(client, authenticator, user_verified=False).status_code == 400


def test_a_deactivated_account_cannot_log_in_with_a_passkey(client, db, world, authenticator):
    world.coordinator.active = False
    db.flush()
    assert passkey_login(client, authenticator).status_code == 400
    assert _sessions(db) == []


def test_an_unknown_passkey_is_refused(client, db, world):
    stranger = SoftAuthenticator()
    stranger.rp_id = "localhost"
    assert passkey_login(client, stranger).status_code == 400


def test_failed_passkeys_count_against_the_address(
    app, client, db, world, authenticator, monkeypatch
):
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES", 2)
    for _ in range(2):
        refused = passkey_login(client, authenticator, origin="http://x.example")
        assert refused.status_code == 400
    blocked = _post_json(client, "/staff/login/passkey/options")
    assert blocked.status_code == 429 and "Retry-After" in blocked.headers
    assert _post_json(client, "/staff/login/passkey", {"credential": {}}).status_code == 429
    # The password from the same address is blocked too (the same throttle).
    assert staff_login(client, world.employee.username).status_code == 429


def test_challenges_are_limited_per_address(app, client, db, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_START_LIMIT", 2)
    for _ in range(2):
        passkey_options(client)
    assert _post_json(client, "/staff/login/passkey/options").status_code == 429
    assert db.scalar(sa.select(sa.func.count()).select_from(PasskeyChallenge)) == 2


def test_a_registration_challenge_is_used_once(client, db, world):
    staff_login(client, world.coordinator.username)
    options = _post_json(client, "/staff/passkeys/options").get_json()
    first = SoftAuthenticator().create(options)
    body = {"name": "Telefon", "credential": first}
    assert _post_json(client, "/staff/passkeys", body).status_code == 200
    second = {"name": "Nettbrett", "credential": SoftAuthenticator().create(options)}
    assert _post_json(client, "/staff/passkeys", second).status_code == 400
    assert [p.name for p in db.scalars(sa.select(PasskeyCredential))] == ["Telefon"]


def test_a_registration_challenge_is_the_staff_members_own(client, db, world):
    staff_login(client, world.coordinator.username)
    options = _post_json(client, "/staff/passkeys/options").get_json()
    log_out(client)
    staff_login(client, world.employee.username)
    body = {"name": "Telefon", "credential": SoftAuthenticator().create(options)}
    assert _post_json(client, "/staff/passkeys", body).status_code == 400


def test_the_log_in_page_offers_the_passkey_button(client, db):
    page = client.get("/staff/login").get_data(as_text=True)
    assert "Logg inn med passnøkkel" in page and "js/passkeys.js" in page
    assert 'name="username"' in page  # the password stays


def test_without_javascript_the_button_explains_and_the_password_form_stays(client, db):
    token = csrf_token(client, "/staff/login")
    page = client.post("/staff/login/passkey", data={"csrf_token": token})
    html = page.get_data(as_text=True)
    assert page.status_code == 400
    assert "nettleser med passnøkler" in html and 'name="password"' in html


def test_nonsense_answers_are_refused(client, db, world):
    for body in ({}, {"credential": "x"}, {"credential": {"id": "x"}}, {"credential": {}}):
        assert _post_json(client, "/staff/login/passkey", body).status_code == 400


def test_nobody_removes_another_staff_members_passkey(client, db, world, authenticator):
    staff_login(client, world.employee.username)
    token = csrf_token(client, "/staff/passkeys")
    passkey = _passkey(db, world)
    refused = client.post(f"/staff/passkeys/{passkey.id}/remove", data={"csrf_token": token})
    assert refused.status_code == 404
    assert _passkey(db, world).id == passkey.id


def test_a_passkey_log_in_after_a_one_time_password_goes_to_velg_nytt_passord(
    client, db, world, authenticator
):
    world.coordinator.password_must_change = True  # the administrator gave a one-time password
    db.flush()
    assert passkey_login(client, authenticator).status_code == 200
    answer = client.get("/staff/")
    assert answer.status_code == 302 and answer.location == "/staff/password"


def test_a_passkey_the_administrator_revoked_no_longer_logs_in(
    app, client, db, world, authenticator
):
    admin = app.test_client()
    staff_login(admin, world.admin.username)
    path = f"/admin/staff/{world.coordinator.id}"
    assert "Jobbtelefon" in admin.get(path).get_data(as_text=True)
    revoke = f"{path}/passkeys/{_passkey(db, world).id}/revoke"
    done = admin.post(revoke, data={"csrf_token": csrf_token(admin, path)})
    assert done.status_code == 303
    assert passkey_login(client, authenticator).status_code == 400
