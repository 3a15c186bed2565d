"""The resident shell: consent first, whom one acts for, the banner, the way back."""

from __future__ import annotations

import re
from datetime import date, timedelta

import sqlalchemy as sa

from app.clock import oslo_today, utcnow
from app.models import Consent, LoginSession, UsageAction, UsageLogEntry
from tests import factories
from tests.support import csrf_token

BANNER = "Du bruker nå Hjemmedialog på vegne av"


def menu_names(html: str) -> list[str]:
    menu = html.split('id="person-menu"', 1)[1].split("</form>", 1)[0]
    return re.findall(r"<span>([^<]+)</span>", menu)


def act_for(client, person_id: int, next_path: str = "") -> object:
    return client.post(
        "/act-for",
        data={
            "csrf_token": csrf_token(client, "/contacts"),
            "person_id": person_id,
            "next": next_path,
        },
    )


def test_menu_lists_yourself_and_everyone_you_may_represent(client, db, login, world):
    login.resident(world.proxy)
    html = client.get("/messages").get_data(as_text=True)
    assert menu_names(html) == [world.proxy.full_name, world.resident.full_name]
    assert BANNER not in html


def test_switching_to_someone_shows_the_banner_and_switching_back_removes_it(
    client, db, login, world
):
    session = login.resident(world.proxy)
    response = act_for(client, world.resident.id)
    assert response.status_code == 303 and response.location == "/messages"
    page = client.get("/messages").get_data(as_text=True)
    assert f"{BANNER} {world.resident.full_name}." in page
    assert 'class="person-name">Rita Resident<' in page
    db.refresh(session)
    assert session.acting_for_person_id == world.resident.id

    back = act_for(client, world.proxy.id, next_path="/contacts")
    assert back.location == "/contacts"
    assert BANNER not in client.get("/contacts").get_data(as_text=True)


def test_switching_is_logged_in_the_represented_persons_usage_log(client, db, login, world):
    login.resident(world.proxy)
    act_for(client, world.resident.id)
    entry = db.scalars(
        sa.select(UsageLogEntry).where(UsageLogEntry.subject_person_id == world.resident.id)
    ).one()
    assert entry.action is UsageAction.ACTING_STARTED
    assert entry.actor_person_id == world.proxy.id


def test_switching_to_someone_you_do_not_represent_is_refused(client, db, login, world):
    stranger = factories.person(db, "Sara", "Stranger")
    session = login.resident(world.proxy)
    assert act_for(client, stranger.id).status_code == 403
    db.refresh(session)
    assert session.acting_for_person_id is None


def test_htmx_switch_answers_with_hx_redirect(client, db, login, world):
    login.resident(world.proxy)
    response = client.post(
        "/act-for",
        data={"csrf_token": csrf_token(client, "/contacts"), "person_id": world.resident.id},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/messages"


def test_when_the_fullmakt_ends_access_stops_at_the_next_request(client, db, login, world):
    from app.models import Fullmakt

    login.resident(world.proxy, acting_for=world.resident)
    assert BANNER in client.get("/messages").get_data(as_text=True)
    fullmakt = db.scalars(sa.select(Fullmakt).where(Fullmakt.grantee_id == world.proxy.id)).one()
    fullmakt.ended_at = utcnow()
    db.flush()
    page = client.get("/messages").get_data(as_text=True)
    assert BANNER not in page
    assert "Du har ikke lenger tilgang" in page
    assert menu_names(page) == [world.proxy.full_name]


def test_a_fullmakt_given_during_a_session_opens_at_the_next_request(client, db, login, world):
    # Someone who acts only for themselves is read without asking whom else they may act
    # for; a fullmakt given meanwhile must still show at once, and go when it ends.
    newcomer = factories.person(db, "Nina", "Nykommer")
    login.resident(newcomer)
    assert menu_names(client.get("/messages").get_data(as_text=True)) == [newcomer.full_name]
    fullmakt = factories.fullmakt(db, world.resident, newcomer)
    page = client.get("/messages").get_data(as_text=True)
    assert menu_names(page) == [newcomer.full_name, world.resident.full_name]
    fullmakt.ended_at = utcnow()
    db.flush()
    assert menu_names(client.get("/messages").get_data(as_text=True)) == [newcomer.full_name]


def test_proxy_cannot_open_the_grantors_profile(client, db, login, world):
    login.resident(world.proxy, acting_for=world.resident)
    response = client.get("/profile")
    assert response.status_code == 403
    assert "Tilbake til deg selv" in response.get_data(as_text=True)


def test_a_403_keeps_the_shell_with_a_way_back(client, db, login, world):
    login.resident(world.proxy, acting_for=world.resident)
    html = client.get("/profile").get_data(as_text=True)
    assert 'class="person-name">Rita Resident<' in html  # the top bar and its menu
    assert 'aria-label="Hovedmeny"' in html
    assert f"{BANNER} {world.resident.full_name}." in html
    assert 'href="/messages">Gå tilbake til sidene til Rita Resident</a>' in html


def test_a_resident_on_a_staff_page_keeps_the_resident_shell(client, db, login, world):
    login.resident(world.resident)
    response = client.get("/staff/")
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert 'class="person-name">Rita Resident<' in html
    assert ">Meldinger</a>" in html


def test_staff_on_a_resident_page_keep_the_staff_shell(client, db, login, world):
    login.staff(world.coordinator)
    html = client.get("/messages").get_data(as_text=True)
    assert "topbar-staff" in html and world.coordinator.full_name in html


def test_the_menus_profile_entry_leads_a_proxy_to_their_own_profile(client, db, login, world):
    login.resident(world.proxy, acting_for=world.resident)
    html = client.get("/messages").get_data(as_text=True)
    menu = html.split('id="person-menu"', 1)[1].split("</div>", 1)[0]
    assert 'href="/profile"' not in menu  # no link that answers 403
    assert "Din profil og innstillinger" in menu
    assert f"som deg selv, {world.proxy.full_name}" in menu
    response = act_for(client, world.proxy.id, next_path="/profile")
    assert response.location == "/profile"
    page = client.get("/profile")
    assert page.status_code == 200
    assert world.proxy.full_name in page.get_data(as_text=True)


def test_the_menus_profile_entry_is_a_link_for_yourself(client, db, login, world):
    login.resident(world.proxy)
    menu = client.get("/messages").get_data(as_text=True).split('id="person-menu"', 1)[1]
    assert 'href="/profile">Profil og innstillinger</a>' in menu


def test_parent_of_a_young_child_sees_everything_in_the_menu_and_nav(client, db, login):
    lise = factories.person(db, "Lise", "Berg")
    emil = factories.person(db, "Emil", "Berg", born=date(2016, 10, 3), active=False)
    factories.parent_of(db, lise, emil)
    login.resident(lise, acting_for=emil)
    html = client.get("/messages").get_data(as_text=True)
    assert menu_names(html) == ["Lise Berg", "Emil Berg"]
    for label in ("Meldinger", "Timeavtaler", "Helsekontakter"):
        assert f">{label}</a>" in html


def test_parent_of_a_teenager_sees_only_appointments(client, db, login):
    today = oslo_today()
    parent = factories.person(db, "Mor", "Hansen")
    teen = factories.person(db, "Tor", "Hansen", born=today.replace(year=today.year - 13))
    factories.parent_of(db, parent, teen)
    login.resident(parent, acting_for=teen)
    assert client.get("/messages").status_code == 403
    html = client.get("/appointments").get_data(as_text=True)
    assert ">Timeavtaler</a>" in html and ">Meldinger</a>" not in html


def test_parent_without_parental_responsibility_sees_nothing(client, db, login):
    parent = factories.person(db, "Far", "Hansen")
    child = factories.person(db, "Liv", "Hansen", born=date(2018, 1, 1))
    factories.parent_of(db, parent, child, responsibility=False)
    login.resident(parent)
    assert menu_names(client.get("/messages").get_data(as_text=True)) == ["Far Hansen"]


def test_a_person_not_digitally_active_sees_only_the_consent_page(client, db, login):
    nils = factories.person(db, "Nils", "Hansen", active=False)
    login.resident(nils)
    for path in ("/messages", "/appointments", "/contacts", "/profile"):
        response = client.get(path)
        assert response.status_code == 302 and response.location == "/auth/consent", path
    page = client.get("/auth/consent").get_data(as_text=True)
    assert "Før du begynner" in page


def test_consent_needs_the_box_ticked(client, db, login):
    nils = factories.person(db, "Nils", "Hansen", active=False)
    login.resident(nils)
    token = csrf_token(client, "/auth/consent")
    response = client.post("/auth/consent", data={"csrf_token": token})
    assert response.status_code == 422
    assert "Du må godta vilkårene" in response.get_data(as_text=True)
    assert (
        db.scalar(
            sa.select(sa.func.count()).select_from(Consent).where(Consent.person_id == nils.id)
        )
        == 0
    )


def test_after_consent_access_is_immediate_and_recorded(client, db, login, app):
    nils = factories.person(db, "Nils", "Hansen", active=False)
    login.resident(nils)
    token = csrf_token(client, "/auth/consent")
    response = client.post("/auth/consent", data={"csrf_token": token, "accept": "y"})
    assert response.status_code == 303 and response.location == "/messages"
    assert client.get("/messages").status_code == 200
    consent = db.scalars(sa.select(Consent).where(Consent.person_id == nils.id)).one()
    assert consent.terms_version == app.config["TERMS_VERSION"]
    assert consent.accepted_at > utcnow() - timedelta(minutes=1)
    logged = db.scalars(
        sa.select(UsageLogEntry.action).where(UsageLogEntry.subject_person_id == nils.id)
    ).all()
    assert UsageAction.CONSENT_GIVEN in logged


def test_a_consent_for_an_old_version_of_the_terms_is_not_enough(client, db, login, app):
    old = factories.person(db, "Olga", "Old", active=False)
    db.add(Consent(person_id=old.id, terms_version="2019-1", accepted_at=utcnow()))
    db.flush()
    login.resident(old)
    assert client.get("/messages").location == "/auth/consent"


def test_staff_cannot_use_resident_pages(client, db, login, world):
    login.staff(world.coordinator)
    assert client.get("/messages").status_code == 403


def test_anonymous_visitors_are_sent_to_log_in_with_the_page_remembered(client, db):
    response = client.get("/contacts")
    assert response.status_code == 302
    assert response.location == "/?next=/contacts"


def test_contacts_lists_services_with_unit_details_and_dialog_state(client, db, login, world):
    factories.receives(db, world.resident, world.closed_unit)
    login.resident(world.resident)
    html = client.get("/contacts").get_data(as_text=True)
    assert "Hjemmesykepleie" in html and "Sone Nord" in html
    assert "Åpen for digital dialog" in html
    assert "Ikke åpen for digital dialog" in html  # Fysioterapi
    assert "22 00 00 00" in html  # phone shown as Norwegians write it


def test_contacts_for_someone_with_no_services_says_so(client, db, login, world):
    login.resident(world.proxy)
    html = client.get("/contacts").get_data(as_text=True)
    assert "mottar ingen hjemmetjenester" in html


def test_active_sessions_count_is_one_per_log_in(client, db, login, world):
    login.resident(world.resident)
    client.get("/messages")
    assert db.scalar(sa.select(sa.func.count()).select_from(LoginSession)) == 1
