"""The installable app: manifest, service worker, offline page."""

from __future__ import annotations


def test_manifest_makes_the_app_installable(client, db):
    response = client.get("/manifest.webmanifest")
    body = response.get_json(force=True)
    assert response.mimetype == "application/manifest+json"
    assert body["display"] == "standalone" and body["start_url"] == "/"
    sizes = {icon["sizes"] for icon in body["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in body["icons"]:
        image = client.get(icon["src"])
        assert image.status_code == 200
        image.close()


def test_pages_link_the_manifest(client, db):
    assert 'rel="manifest" href="/manifest.webmanifest"' in client.get("/").get_data(as_text=True)


def test_service_worker_is_served_for_the_whole_site_with_versioned_assets(client, db):
    response = client.get("/sw.js")
    script = response.get_data(as_text=True)
    assert response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert "__VERSION__" not in script and "__ASSETS__" not in script
    assert '"/static/css/app.css?v=' in script and '"/offline"' in script
    assert response.headers["Cache-Control"] == "no-store"


def test_the_offline_page_holds_no_personal_data(client, db, login, world):
    login.resident(world.resident)
    html = client.get("/offline").get_data(as_text=True)
    assert "Du er uten nett" in html
    assert world.resident.full_name not in html
