"""Profil og innstillinger on the web: contact settings, fullmakter, Logg over bruk."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import sqlalchemy as sa

from app.clock import OSLO, oslo_today, utcnow
from app.models import (
    ContactSettings,
    Fullmakt,
    NoticeChannel,
    NoticeLevel,
    UsageAction,
)
from app.services.audit import usage_log_add
from tests import factories
from tests.support import csrf_token


def post(client, path, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, "/auth/logged-out"), **data})


# --- Kontaktinformasjon og varseloppsett -------------------------------------------------------


def test_contact_settings_are_saved_with_the_number_in_e164(client, db, login, world):
    login.resident(world.proxy)  # he represents Rita: the last choice is his to make
    response = post(
        client,
        "/profile/contact",
        mobile="912 34 567",
        email="Rita@Example.COM",
        channel="sms",
        level="all",
        same_for_represented="y",
    )
    assert response.status_code == 303
    settings = db.get(ContactSettings, world.proxy.id)
    assert settings.mobile == "+4791234567"
    assert settings.email == "Rita@example.com"
    assert (settings.channel, settings.level, settings.same_for_represented) == (
        NoticeChannel.SMS,
        NoticeLevel.ALL,
        True,
    )
    page = client.get("/profile/contact").get_data(as_text=True)
    assert 'value="912 34 567"' in page  # shown back as people write it
    assert "+4791234567" not in page


def test_same_notices_for_others_is_offered_only_to_someone_who_represents_anyone(
    client, db, login, world
):
    label = "Samme varsler for andre du representerer"
    login.resident(world.proxy)
    assert label in client.get("/profile/contact").get_data(as_text=True)
    login.resident(world.resident)  # Rita represents nobody
    assert label not in client.get("/profile/contact").get_data(as_text=True)


def test_saving_without_the_choice_keeps_what_was_stored(client, db, login, world):
    db.add(
        ContactSettings(
            person_id=world.resident.id,
            email="rita@example.com",
            channel=NoticeChannel.EMAIL,
            level=NoticeLevel.NORMAL,
            same_for_represented=True,
            updated_at=utcnow(),
        )
    )
    db.flush()
    login.resident(world.resident)
    response = post(
        client, "/profile/contact", email="rita@example.com", channel="email", level="all"
    )
    assert response.status_code == 303
    settings = db.get(ContactSettings, world.resident.id)
    db.refresh(settings)
    assert settings.level is NoticeLevel.ALL and settings.same_for_represented is True


def test_normal_notices_is_the_default(client, db, login, world):
    login.resident(world.resident)
    page = client.get("/profile/contact").get_data(as_text=True)
    assert re.search(r'value="normal"\s+checked|checked[^>]*value="normal"', page)


def test_bad_contact_details_are_explained_and_nothing_is_saved(client, db, login, world):
    login.resident(world.resident)
    cases = [
        ({"mobile": "+46 70 123 45 67", "channel": "sms"}, "Oppgi et norsk mobilnummer"),
        ({"mobile": "22 00 00 00", "channel": "sms"}, "Det er ikke et mobilnummer"),
        ({"mobile": "12", "channel": "sms"}, "Det er ikke et gyldig nummer"),
        ({"email": "ikke-en-adresse", "channel": "email"}, "ikke en gyldig e-postadresse"),
        ({"channel": "sms"}, "Oppgi et mobilnummer for å få varsler på SMS"),
    ]
    for data, message in cases:
        response = post(client, "/profile/contact", level="normal", **data)
        assert response.status_code == 422, data
        assert message in response.get_data(as_text=True), message
    assert db.get(ContactSettings, world.resident.id) is None


# --- Fullmakter ---------------------------------------------------------------------------------


def test_the_fullmakt_lists_given_received_and_history(client, db, login, world):
    former = factories.person(db, "Former", "Proxy")
    factories.fullmakt(db, world.resident, former, ended_at=utcnow() - timedelta(days=1))
    login.resident(world.resident)
    html = client.get("/profile/fullmakter").get_data(as_text=True)
    given = html.split("Fullmakter du har gitt")[1].split("Fullmakter du har fått")[0]
    assert "Per Proxy" in given and "Timeavtaler og behandlere" in given
    history = html.split("Historikk")[1]
    assert "Til Former Proxy" in history and "Avsluttet" in history
    login.resident(world.proxy)
    received = (
        client.get("/profile/fullmakter").get_data(as_text=True).split("Fullmakter du har fått")[1]
    )
    assert "Rita Resident" in received


def test_giving_a_fullmakt_by_fodselsnummer_in_two_steps(client, db, login, world):
    lise = factories.person(db, "Lise", "Berg")
    login.resident(world.resident)
    step_one = post(
        client, "/profile/fullmakter/new", fodselsnummer=lise.fodselsnummer, family_name="berg"
    )
    assert step_one.status_code == 303
    assert str(lise.id) not in step_one.location  # the person is not in the URL
    page = client.get(step_one.location).get_data(as_text=True)
    assert "Fullmakt til Lise Berg" in page
    last_day = (oslo_today() + timedelta(days=60)).isoformat()
    done = post(
        client,
        "/profile/fullmakter/new/details",
        duration="until",
        valid_to=last_day,
        scope="selected",
        areas=["timeavtaler-og-behandlere"],
    )
    assert done.status_code == 303
    fullmakt = db.scalars(
        sa.select(Fullmakt)
        .where(Fullmakt.grantee_id == lise.id)
        .options(sa.orm.selectinload(Fullmakt.areas))
    ).one()
    assert fullmakt.area_codes == {"timeavtaler-og-behandlere"}


def test_family_members_are_offered_first(client, db, login, world):
    son = factories.person(db, "Sønn", "Resident")
    factories.parent_of(db, world.resident, son, responsibility=False)
    login.resident(world.resident)
    html = client.get("/profile/fullmakter/new").get_data(as_text=True)
    assert f'value="{son.id}"' in html and "Sønn Resident" in html
    assert post(client, "/profile/fullmakter/new", person_id=son.id).status_code == 303


def test_someone_not_in_the_family_list_cannot_be_picked_by_id(client, db, login, world):
    stranger = factories.person(db, "Stranger")
    login.resident(world.resident)
    response = post(client, "/profile/fullmakter/new", person_id=stranger.id)
    assert response.status_code == 422
    assert "Stranger" not in response.get_data(as_text=True)


def _search(client, number, family_name):
    response = post(
        client, "/profile/fullmakter/new", fodselsnummer=number, family_name=family_name
    )
    return response, response.get_data(as_text=True)


def _error_summary(html: str) -> str:
    return re.search(r'<div class="error-summary".*?</div>', html, re.S).group(0)


def test_a_search_by_number_alone_is_not_enough(client, db, login, world):
    lise = factories.person(db, "Lise", "Berg")
    login.resident(world.resident)
    response, html = _search(client, lise.fodselsnummer, "")
    assert response.status_code == 422
    assert "Oppgi etternavnet" in html and "Lise" not in html
    assert f'value="{lise.fodselsnummer}"' in html  # nothing typed is lost


def test_every_refused_search_reads_the_same_and_names_nobody(client, db, login, world):
    """R11: whether the person exists, is under 18, has a protected address or is someone
    else is not told; 40 searches in a row are no longer all answered."""
    from app.models import AddressProtection

    knut = factories.person(db, "Knut", "Knutsen", born=oslo_today().replace(year=2009))
    marit = factories.person(
        db, "Marit", "Olsen", address_protection=AddressProtection.STRENGT_FORTROLIG
    )
    lise = factories.person(db, "Lise", "Berg")
    login.resident(world.resident)
    tries = [
        (knut.fodselsnummer, "Knutsen"),
        (marit.fodselsnummer, "Olsen"),
        (factories.synthetic_fnr(oslo_today().replace(year=1960)), "Berg"),
        (lise.fodselsnummer, "Olsen"),
        (world.resident.fodselsnummer, "Resident"),
    ]
    summaries = set()
    for number, name in tries:
        response, html = _search(client, number, name)
        assert response.status_code == 422
        for who in ("Knut", "Marit", "Lise", "18 år", "kan ikke få fullmakt", "fant ingen person"):
            assert who not in _error_summary(html), (number, who)
        summaries.add(_error_summary(html))
    assert len(summaries) == 1
    assert "Vi fant ingen som kan få fullmakt fra deg" in summaries.pop()
    assert (
        _search(client, "12345678901", "Berg")[1].count("Det er ikke et gyldig fødselsnummer") >= 1
    )


def test_searches_are_rate_limited_and_logged_even_when_refused(client, db, login, world):
    from app.services.fullmakt import SEARCH_LIMIT

    lise = factories.person(db, "Lise", "Berg")
    login.resident(world.resident)
    for _ in range(SEARCH_LIMIT):
        assert _search(client, lise.fodselsnummer, "Feil")[0].status_code == 422
    response, html = _search(client, lise.fodselsnummer, "Berg")  # right, but too many
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 3000
    assert f"Du har søkt {SEARCH_LIMIT} ganger den siste timen" in html
    assert re.search(r"kan du søke igjen kl\. \d\d:\d\d", html)
    assert "Lise" not in _error_summary(html)
    log = client.get("/profile/log").get_data(as_text=True)
    # Every search is stored; identical ones close in time are shown as one line.
    line = "Du søkte etter en person å gi fullmakt til, og fant ingen"
    assert log.count(line) == 1
    assert re.search(re.escape(line) + rf'\s*<span class="log-repeat">\({SEARCH_LIMIT} ganger', log)
    assert lise.fodselsnummer not in log
    # Choosing a family member is not a search and stays open.
    son = factories.person(db, "Sønn", "Resident")
    factories.parent_of(db, world.resident, son, responsibility=False)
    assert post(client, "/profile/fullmakter/new", person_id=son.id).status_code == 303


def test_a_family_member_refused_is_told_why_as_before(client, db, login, world):
    grandchild = factories.person(db, "Barn", "Resident", born=oslo_today().replace(year=2012))
    factories.parent_of(db, world.resident, grandchild, responsibility=False)
    login.resident(world.resident)
    response = post(client, "/profile/fullmakter/new", person_id=grandchild.id)
    assert response.status_code == 422
    assert "18 år eller eldre" in response.get_data(as_text=True)


def test_searching_someone_who_already_has_one_opens_it_for_change(client, db, login, world):
    login.resident(world.resident)
    response, _ = _search(client, world.proxy.fodselsnummer, "Proxy")
    given = db.scalars(sa.select(Fullmakt).where(Fullmakt.grantee_id == world.proxy.id)).one()
    assert response.status_code == 303
    assert response.location.endswith(f"/profile/fullmakter/{given.id}/edit")


# --- Endre fullmakt -------------------------------------------------------------------------


def _limited_selected(db, world, days=30):
    """Rita's fullmakt to Per: until a day, Timeavtaler og behandlere only."""
    from app.clock import local_to_utc

    fullmakt = db.scalars(sa.select(Fullmakt).where(Fullmakt.grantee_id == world.proxy.id)).one()
    last_day = oslo_today() + timedelta(days=days)
    fullmakt.valid_to = local_to_utc(last_day + timedelta(days=1), datetime.min.time())
    db.flush()
    return fullmakt, last_day


def _checked(html, name, value):
    return re.search(
        rf'<input[^>]*name="{name}"[^>]*value="{value}"[^>]*checked', html
    ) or re.search(rf'<input[^>]*checked[^>]*name="{name}"[^>]*value="{value}"', html)


def test_the_change_form_starts_from_the_fullmakt_as_it_is(client, db, login, world):
    fullmakt, last_day = _limited_selected(db, world)
    login.resident(world.resident)
    html = client.get(f"/profile/fullmakter/{fullmakt.id}/edit").get_data(as_text=True)
    assert "Endre fullmakten til Per Proxy" in html
    assert _checked(html, "duration", "until") and not _checked(html, "duration", "indefinite")
    assert f'value="{last_day.isoformat()}"' in html
    assert _checked(html, "scope", "selected") and not _checked(html, "scope", "all")
    assert re.search(r'value="timeavtaler-og-behandlere"\s+checked', html)


def test_a_new_last_day_changes_the_last_day_and_nothing_else(client, db, login, world):
    """The finding: typing only a new last day gave an unlimited all-areas fullmakt."""
    fullmakt, last_day = _limited_selected(db, world)
    login.resident(world.resident)
    later = last_day + timedelta(days=60)
    chosen = {
        "duration": "until",
        "valid_to": later.isoformat(),
        "scope": "selected",
        "areas": ["timeavtaler-og-behandlere"],
    }
    review = post(client, f"/profile/fullmakter/{fullmakt.id}/edit", **chosen)
    html = review.get_data(as_text=True)
    assert review.status_code == 200
    changes = html.split("Dette endres")[1].split("</ul>")[0]
    assert "Siste dag: fra" in changes and str(later.day) in changes
    assert "Områder" not in changes  # only what was changed
    db.refresh(fullmakt)
    assert fullmakt.ended_at is None  # nothing saved before it is confirmed

    saved = post(client, f"/profile/fullmakter/{fullmakt.id}/edit", step="confirm", **chosen)
    assert saved.status_code == 303
    db.refresh(fullmakt)
    new = db.scalars(
        sa.select(Fullmakt)
        .where(Fullmakt.replaces_id == fullmakt.id)
        .options(sa.orm.selectinload(Fullmakt.areas))
    ).one()
    assert fullmakt.ended_at is not None
    assert not new.all_areas and new.area_codes == {"timeavtaler-og-behandlere"}
    from app.services.fullmakt import last_day_of

    assert last_day_of(new) == later
    page = client.get(saved.location).get_data(as_text=True)
    assert "Fullmakten til Per Proxy er endret. Siste dag: fra" in page


def test_saving_the_form_unchanged_changes_nothing(client, db, login, world):
    fullmakt, last_day = _limited_selected(db, world)
    login.resident(world.resident)
    response = post(
        client,
        f"/profile/fullmakter/{fullmakt.id}/edit",
        duration="until",
        valid_to=last_day.isoformat(),
        scope="selected",
        areas=["timeavtaler-og-behandlere"],
        step="confirm",
    )
    assert response.status_code == 303
    assert "Ingenting ble endret" in client.get(response.location).get_data(as_text=True)
    db.refresh(fullmakt)
    assert fullmakt.ended_at is None
    assert db.scalars(sa.select(Fullmakt).where(Fullmakt.replaces_id == fullmakt.id)).all() == []


def test_widening_says_so_before_it_is_saved(client, db, login, world):
    fullmakt, last_day = _limited_selected(db, world)
    login.resident(world.resident)
    html = post(
        client,
        f"/profile/fullmakter/{fullmakt.id}/edit",
        duration="indefinite",
        scope="all",
    ).get_data(as_text=True)
    changes = html.split("Dette endres")[1].split("</ul>")[0]
    assert "Hvor lenge: fra siste dag" in changes and "til inntil videre" in changes
    assert "Områder: fra Timeavtaler og behandlere til Alle områder" in changes
    # "Endre mer" goes back to the form with what was chosen.
    back = post(
        client,
        f"/profile/fullmakter/{fullmakt.id}/edit",
        duration="indefinite",
        scope="all",
        step="back",
    ).get_data(as_text=True)
    assert _checked(back, "scope", "all") and _checked(back, "duration", "indefinite")
    db.refresh(fullmakt)
    assert fullmakt.ended_at is None


def test_a_bad_change_is_explained_and_nothing_is_saved(client, db, login, world):
    fullmakt, _ = _limited_selected(db, world)
    login.resident(world.resident)
    response = post(
        client,
        f"/profile/fullmakter/{fullmakt.id}/edit",
        duration="until",
        valid_to=(oslo_today() - timedelta(days=1)).isoformat(),
        scope="selected",
        areas=["timeavtaler-og-behandlere"],
        step="confirm",
    )
    assert response.status_code == 422
    assert "Siste dag kan ikke være tilbake i tid" in response.get_data(as_text=True)
    db.refresh(fullmakt)
    assert fullmakt.ended_at is None


def test_only_the_grantor_opens_the_change_form(client, db, login, world):
    fullmakt, _ = _limited_selected(db, world)
    login.resident(world.proxy)  # the grantee, as himself
    assert client.get(f"/profile/fullmakter/{fullmakt.id}/edit").status_code == 404


def test_a_proxy_cannot_open_gi_ny_fullmakt_for_the_grantor(client, db, login, world):
    login.resident(world.proxy, acting_for=world.resident)
    assert client.get("/profile/fullmakter/new").status_code == 403
    assert client.get("/profile/fullmakter").status_code == 403


def test_ending_from_the_grantees_side(client, db, login, world):
    fullmakt = db.scalars(sa.select(Fullmakt).where(Fullmakt.grantee_id == world.proxy.id)).one()
    login.resident(world.proxy)
    asked = post(client, f"/profile/fullmakter/{fullmakt.id}/end")
    assert asked.status_code == 200
    html = asked.get_data(as_text=True)
    assert f"Avslutte fullmakten med {world.resident.full_name}?" in html
    assert "Ja, avslutt fullmakten" in html and ">Tilbake</a>" in html
    db.refresh(fullmakt)
    assert fullmakt.ended_at is None  # nothing ends before it is confirmed
    assert post(client, f"/profile/fullmakter/{fullmakt.id}/end", step="confirm").status_code == 303
    db.refresh(fullmakt)
    assert fullmakt.ended_by_person_id == world.proxy.id
    login.resident(world.proxy, acting_for=world.resident)
    assert "Du har ikke lenger tilgang" in client.get("/messages").get_data(as_text=True)


# --- Logg over bruk -------------------------------------------------------------------------------


def test_the_usage_log_names_who_did_what_newest_first(client, db, login, world):
    now = utcnow()
    usage_log_add(
        db,
        subject_person_id=world.resident.id,
        action=UsageAction.MESSAGE_SENT,
        actor_person_id=world.proxy.id,
        at=now - timedelta(hours=2),
    )
    usage_log_add(
        db,
        subject_person_id=world.resident.id,
        action=UsageAction.STAFF_VIEWED_THREAD,
        actor_staff_id=world.employee.id,
        actor_unit_id=world.unit.id,
        at=now - timedelta(hours=1),
    )
    login.resident(world.resident)
    html = client.get("/profile/log").get_data(as_text=True)
    proxy_line = "Per Proxy sendte en melding på dine vegne"
    staff_line = f"{world.employee.full_name}, Sone Nord, åpnet en meldingstråd"
    assert proxy_line in html and staff_line in html
    assert html.index(staff_line) < html.index(proxy_line)


def test_the_usage_log_filters_by_period_and_pages_by_keyset(client, db, login, world):
    base = utcnow() - timedelta(days=40)
    for i in range(45):
        usage_log_add(
            db,
            subject_person_id=world.resident.id,
            action=UsageAction.LOGGED_IN,
            actor_person_id=world.resident.id,
            at=base + timedelta(hours=i),
        )
    login.resident(world.resident)
    first = client.get("/profile/log").get_data(as_text=True)
    assert first.count("Logget inn") == 30
    more = re.search(r'href="(/profile/log\?[^"]*after=[^"]+)"', first).group(1)
    second = client.get(more.replace("&amp;", "&"), headers={"HX-Request": "true"})
    assert second.get_data(as_text=True).count("Logget inn") == 15
    day = (base + timedelta(hours=1)).astimezone(OSLO).date().isoformat()  # periods are Oslo days
    filtered = client.get(f"/profile/log?start={day}&end={day}").get_data(as_text=True)
    assert 0 < filtered.count("Logget inn") <= 24


def test_a_reversed_period_in_the_usage_log_is_explained(client, db, login, world):
    usage_log_add(
        db,
        subject_person_id=world.resident.id,
        action=UsageAction.LOGGED_IN,
        actor_person_id=world.resident.id,
        at=utcnow() - timedelta(days=2),
    )
    login.resident(world.resident)
    response = client.get("/profile/log?start=2026-06-30&end=2026-06-01")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Til-datoen er før fra-datoen. Bytt dem om." in html
    assert "Ingenting i denne perioden" not in html
    assert "Logget inn" not in html


def test_a_proxy_cannot_read_the_grantors_log(client, db, login, world):
    login.resident(world.proxy, acting_for=world.resident)
    assert client.get("/profile/log").status_code == 403


def test_a_parent_reads_a_young_childs_log(client, db, login):
    parent = factories.person(db, "Mor")
    child = factories.person(
        db, "Barn", born=oslo_today().replace(year=oslo_today().year - 8), active=False
    )
    factories.parent_of(db, parent, child)
    login.resident(parent, acting_for=child)
    assert client.get("/profile/log").status_code == 200


def test_every_fullmakt_refusal_has_its_own_words():
    """A code without a text would fall back to "not found", which says something else."""
    from pathlib import Path

    from app.web.profile_text import FULLMAKT_REFUSALS

    source = Path(__file__).parents[2] / "app"
    raised = set()
    for path in (source / "services" / "fullmakt.py", source / "security" / "access.py"):
        text = path.read_text()
        raised |= set(re.findall(r'FullmaktRefused\("(\w+)"\)', text))
        raised |= set(re.findall(r'_refuse\(\s*actor,\s*"(\w+)"', text))
        raised |= set(re.findall(r'return "(\w+)"', text)) if path.name == "access.py" else set()
    raised |= {"self", "grantee_too_young", "grantee_protected", "grantor_too_young"}
    raised |= {"grantor_not_active", "grantor_protected", "own_registration", "staff_party"}
    missing = raised - set(FULLMAKT_REFUSALS) - {"search_limited"}
    assert not missing
