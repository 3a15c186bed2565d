"""Every date reads one way per language, the same on every page (app/web/filters.py).

The day, then the month in words, the year when it is not this year, and the weekday in
front for the days people plan by: "mandag 23. november", "Monday 23 November at 14:05".
Never "November 23, 2026" or "23/11/2026".
"""

from __future__ import annotations

import re
from datetime import date

import sqlalchemy as sa

from app.clock import OSLO, oslo_today
from app.models import Thread

MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
# Month before day ("November 23", not "November 08:00"), or a date in figures ("23/11/2026").
OTHER_STYLES = re.compile(
    rf"\b(?:{'|'.join(MONTHS)}) \d{{1,2}}(?![\d:])|\b\d{{1,2}}/\d{{1,2}}/\d{{2,4}}\b"
)


def english(client) -> None:
    with client.session_transaction() as flask_session:
        flask_session["lang"] = "en"


def page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def weekday_day_month(day: date) -> str:
    """The English form, written out here rather than by the code under test."""
    text = f"{day:%A} {day.day} {MONTHS[day.month - 1]}"
    return text if day.year == oslo_today().year else f"{text} {day.year}"


def test_a_birth_date_reads_the_same_for_the_resident_and_for_staff(client, login, world):
    login.resident(world.resident)
    english(client)
    own = page(client, "/profile")
    login.staff(world.coordinator)
    english(client)
    staff = page(client, f"/staff/recipients/{world.resident.id}")
    assert "3 February 1940" in own and "3 February 1940" in staff
    assert "February 3" not in own + staff


def test_a_birth_date_in_bokmal(client, login, world):
    login.resident(world.resident)
    assert "3. februar 1940" in page(client, "/profile")


def test_a_reply_deadline_reads_the_same_for_the_resident_and_for_staff(client, db, login, demo):
    kari = demo["people"]["kari"]
    thread = db.scalars(
        sa.select(Thread).where(Thread.person_id == kari.id, Thread.reply_deadline.is_not(None))
    ).first()
    expected = weekday_day_month(thread.reply_deadline.astimezone(OSLO).date())
    login.resident(kari)
    english(client)
    resident = page(client, f"/messages/{thread.id}")
    login.staff(demo["staff"]["siri"])
    english(client)
    staff = page(client, f"/staff/threads/{thread.id}")
    assert f"Reply expected by {expected}" in resident
    assert f"<dd>{expected}</dd>" in staff


def test_no_page_writes_a_date_another_way_in_english(client, db, login, demo):
    kari = demo["people"]["kari"]
    thread_id = db.scalar(sa.select(Thread.id).where(Thread.person_id == kari.id))
    resident_pages = [
        "/messages",
        f"/messages/{thread_id}",
        "/appointments?view=list",
        "/appointments?view=week",
        "/appointments?view=month",
        "/profile",
        "/profile/fullmakter",
        "/profile/log",
    ]
    staff_pages = {
        "siri": ["/staff/", f"/staff/threads/{thread_id}", f"/staff/recipients/{kari.id}"],
        "jonas": ["/staff/visits", "/staff/planning"],
    }
    seen = {}
    login.resident(kari)
    english(client)
    for path in resident_pages:
        seen[path] = page(client, path)
    for username, paths in staff_pages.items():
        login.staff(demo["staff"][username])
        english(client)
        for path in paths:
            seen[path] = page(client, path)
    assert {
        path: OTHER_STYLES.findall(html) for path, html in seen.items() if OTHER_STYLES.search(html)
    } == {}
    assert weekday_day_month(oslo_today()) in seen["/staff/visits"]
