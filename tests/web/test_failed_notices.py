"""Notices that failed for good: seen and tried again by the unit's staff and the administrator.

Also the development outbox, which exists only beside the test identity provider.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import create_app
from app.clock import utcnow
from app.models import ContactSettings, Notice, NoticeStatus
from app.notices.channels import SmtpChannel
from app.notices.worker import Channels, Settings, run_batch
from app.services.notices import notices_for_event
from tests import factories
from tests.databases import make_config
from tests.notices.servers import SmtpServer
from tests.support import csrf_token


def post(client, path, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, "/auth/logged-out"), **data})


def refused_by_the_mail_server(app, db, world) -> Notice:
    """The worker delivers a new-message notice to an address the server refuses."""
    db.add(
        ContactSettings(
            person_id=world.resident.id, email="finnes.ikke@test.example", updated_at=utcnow()
        )
    )
    db.flush()
    (notice,) = notices_for_event(
        db,
        subject=world.resident,
        event="new_message",
        event_key="message:77",
        municipality_id=world.municipality.id,
        now=utcnow(),
    )
    server = SmtpServer().start()
    server.recorder.refuse_with = "550 5.1.1 No such user"
    email = SmtpChannel("127.0.0.1", server.port, sender="ikke-svar@test.example", timeout=5)
    try:
        with app.app_context():
            assert run_batch(db, Channels(email, None), Settings.from_app(app)) == {"failed": 1}
    finally:
        email.close()
        server.stop()
    db.refresh(notice)
    return notice


def test_a_permanent_failure_shows_for_the_units_staff_who_try_again(app, client, db, login, world):
    login.staff(world.coordinator)
    notice = refused_by_the_mail_server(app, db, world)
    queue = client.get("/staff/").get_data(as_text=True)
    assert "/staff/notices" in queue  # the way there from the queue
    page = client.get("/staff/notices").get_data(as_text=True)
    assert "Varsler som ikke kom fram" in page
    assert "Rita Resident" in page and "finnes.ikke@test.example" in page
    assert "Prøvd 1 gang" in page and "550 5.1.1 No such user" in page
    response = post(client, f"/staff/notices/{notice.id}/retry")
    assert response.status_code == 303
    follow = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Varselet blir forsøkt sendt på nytt." in follow
    assert "Alle varsler har kommet fram." in follow
    db.refresh(notice)
    assert notice.status is NoticeStatus.PENDING and notice.attempts == 0
    assert notice.next_attempt_at <= utcnow()


def test_another_units_staff_neither_see_nor_retry_it(app, client, db, login, world):
    login.staff(world.other_unit_staff)
    notice = refused_by_the_mail_server(app, db, world)
    page = client.get("/staff/notices").get_data(as_text=True)
    assert "Rita Resident" not in page and "Alle varsler har kommet fram." in page
    assert post(client, f"/staff/notices/{notice.id}/retry").status_code == 404
    db.refresh(notice)
    assert notice.status is NoticeStatus.FAILED


def test_the_administrator_sees_the_municipalitys_failures_and_tries_again(
    client, db, login, world
):
    failed = factories.failed_notice(db, world)
    foreign = factories.failed_notice(db, world)
    foreign.municipality_id = world.other_municipality.id
    foreign.address = "utenbys@test.example"
    db.flush()
    login.staff(world.admin)
    assert "/admin/notices" in client.get("/admin/").get_data(as_text=True)
    page = client.get("/admin/notices").get_data(as_text=True)
    assert "rita@test.example" in page and "utenbys@test.example" not in page
    assert "Prøvd 8 ganger" in page
    assert post(client, f"/admin/notices/{foreign.id}/retry").status_code == 404
    assert post(client, f"/admin/notices/{failed.id}/retry").status_code == 303
    assert db.scalar(sa.select(Notice.status).where(Notice.id == failed.id)) is (
        NoticeStatus.PENDING
    )


def test_a_notice_that_is_not_failed_cannot_be_retried(client, db, login, world):
    notice = factories.failed_notice(db, world)
    notice.status = NoticeStatus.SENT
    db.flush()
    login.staff(world.coordinator)
    assert post(client, f"/staff/notices/{notice.id}/retry").status_code == 404


def test_the_development_outbox_shows_what_the_sink_kept(app, client, db, world):
    db.add(
        ContactSettings(person_id=world.resident.id, email="rita@test.example", updated_at=utcnow())
    )
    db.flush()
    notices_for_event(
        db,
        subject=world.resident,
        event="new_message",
        event_key="message:5",
        municipality_id=world.municipality.id,
        now=utcnow(),
    )
    app.config["NOTICE_DEV_SINK"] = True
    with app.app_context():
        channels = Channels.from_app(app, db)
        assert run_batch(db, channels, Settings.from_app(app)) == {"sent": 1}
    page = client.get("/dev/outbox").get_data(as_text=True)
    assert "rita@test.example" in page and "Ny melding fra Testby kommune" in page
    assert "Rita" not in page.replace("rita@test.example", "")  # the text names nobody


@pytest.mark.parametrize("env", ["production", "sink off"])
def test_no_development_outbox_without_the_test_provider(env, tmp_path, monkeypatch):
    if env == "production":
        monkeypatch.setenv("DEV_IDP_ENABLED", "false")
    else:
        monkeypatch.setenv("NOTICE_DEV_SINK", "false")
    config = make_config(f"sqlite:///{tmp_path / 'x.db'}", tmp_path)
    app = create_app(config)
    assert "dev.outbox" not in {rule.endpoint for rule in app.url_map.iter_rules()}
    assert app.test_client().get("/dev/outbox").status_code == 404


def test_without_a_channel_the_notice_waits_instead_of_failing(app, db, world):
    db.add(
        ContactSettings(person_id=world.resident.id, email="rita@test.example", updated_at=utcnow())
    )
    db.flush()
    (notice,) = notices_for_event(
        db,
        subject=world.resident,
        event="new_message",
        event_key="message:9",
        municipality_id=world.municipality.id,
        now=utcnow(),
    )
    with app.app_context():
        assert run_batch(db, Channels(None, None), Settings.from_app(app)) == {"retry": 1}
    db.refresh(notice)
    assert notice.status is NoticeStatus.PENDING
    assert notice.next_attempt_at > utcnow() + timedelta(seconds=10)
    assert "no email channel" in notice.last_error
