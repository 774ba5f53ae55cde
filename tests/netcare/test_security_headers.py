"""What every response tells the browser: a Content-Security-Policy (django-csp) that allows
only NETcare's own origin, no inline script or style without the response's nonce, and no
framing; `Cache-Control: no-store` on everything that can carry patient data (pages, the API,
PDFs, the calendar feed) while static files keep their caching; and the API docs served from
NETcare's own static files (drf-spectacular-sidecar), so they work offline."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from coordinators.plan import plan_sync
from prrt import services as prrt_services
from tests.apiclient import API, client_for
from tests.prrt.builders import approved_course, enter_labs, give

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
# Rendered into PDFs or emails, never served to a browser: no CSP applies to them.
NOT_SERVED = {"coordinators/letter_pdf.html", "prrt/instructions.html",
              "network/mdt_pdf_style.html", "network/mdt_agenda_pdf.html",
              "network/mdt_outcome_pdf.html"}


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:]
            for part in (p.strip() for p in header.split(";")) if part}


def nonce_of(response) -> str:
    [nonce] = [s[len("'nonce-"):-1] for s in directives(response)["script-src"]
               if s.startswith("'nonce-")]
    return nonce


# --- Content-Security-Policy ------------------------------------------------------------------


@pytest.mark.django_db
def test_pages_carry_a_strict_policy(client, navigator):
    client.force_login(navigator)
    response = client.get("/navigator/")
    assert response.status_code == 200
    policy = directives(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["base-uri"] == ["'self'"]
    for directive in ("script-src", "style-src"):
        assert policy[directive][0] == "'self'"
        assert all(s == "'self'" or s.startswith("'nonce-") for s in policy[directive])
    header = response["Content-Security-Policy"]
    assert "unsafe-inline" not in header and "unsafe-eval" not in header
    assert "http:" not in header and "https:" not in header  # no other origin, no CDN
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_the_sign_in_page_and_errors_carry_it_too(client):
    assert "frame-ancestors 'none'" in client.get("/accounts/login/")["Content-Security-Policy"]
    assert "default-src 'self'" in client.get("/no-such-page/")["Content-Security-Policy"]


def served_templates():
    for path in sorted(TEMPLATES.rglob("*.html")):
        name = path.relative_to(TEMPLATES).as_posix()
        if not name.startswith("emails/") and name not in NOT_SERVED:
            yield name, path.read_text()


def test_no_served_template_has_inline_script_style_or_handlers():
    for name, text in served_templates():
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag or "nonce=" in tag, (name, tag)
        for tag in re.findall(r"<style\b[^>]*>", text):
            assert "nonce=" in tag, (name, tag)
        assert not re.search(r"\sstyle=", text), name
        assert not re.search(r"\son[a-z]+=", text), name  # onclick= and the like
        assert "hx-on" not in text and "javascript:" not in text, name


def test_htmx_injects_no_style_and_evaluates_nothing():
    base = (TEMPLATES / "base.html").read_text()
    config = re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", base).group(1)
    assert '"includeIndicatorStyles": false' in config  # its <style> would be refused
    assert '"allowEval": false' in config
    assert ".htmx-indicator" in (ROOT / "netcare/static/netcare/netcare.css").read_text()


@pytest.mark.django_db
def test_rendered_pages_have_no_inline_script_without_the_nonce(client, navigator):
    client.force_login(navigator)
    for url in ("/navigator/", "/tasks/", "/accounts/mfa/", "/accounts/password/"):
        response = client.get(url)
        assert response.status_code == 200, url
        for tag in re.findall(rb"<script\b[^>]*>", response.content):
            assert b"src=" in tag or f'nonce="{nonce_of(response)}"'.encode() in tag, (url, tag)


# --- the API docs, offline --------------------------------------------------------------------


@pytest.mark.django_db
def test_the_api_docs_come_from_netcare_with_the_nonce(client, navigator):
    client.force_login(navigator)
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "cdn" not in page.lower() and "https://" not in page and "http://" not in page
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(s.startswith("/static/drf_spectacular_sidecar/") for s in sources)
    for source in sources:  # each one is a static file NETcare has
        assert finders.find(source.removeprefix("/static/").split("?")[0]), source
    nonce = nonce_of(response)
    assert f'<script nonce="{nonce}">' in page and f'<style nonce="{nonce}">' in page
    assert "SwaggerUIBundle" in page
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_the_api_docs_need_a_sign_in(client):
    assert client.get("/api/docs/").status_code in (302, 401, 403)


# --- Cache-Control: no-store ------------------------------------------------------------------


@pytest.fixture
def given_cycle(time_machine, centre, oncologist, specialist, navigator):
    time_machine.move_to(dt.datetime(2024, 12, 17, 9, 0, tzinfo=dt.UTC), tick=False)
    course = approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                             first_dose=dt.date(2025, 1, 6))
    plan_sync(course=course, today=dt.date(2024, 12, 17))
    time_machine.move_to(dt.datetime(2025, 1, 6, 17, 0, tzinfo=dt.UTC), tick=False)
    enter_labs(specialist, course.patient, dt.date(2025, 1, 4))
    cycle = prrt_services.cycle_refresh(cycle=course.cycles.get(number=1),
                                        today=dt.date(2025, 1, 4))
    prrt_services.cycle_decide(actor=specialist, cycle=cycle, decision="approve",
                               activity_gbq=Decimal("7.4"), today=dt.date(2025, 1, 5))
    give(navigator, course.cycles.get(number=1), dt.date(2025, 1, 6))
    return course.cycles.get(number=1)


def assert_no_store(response) -> None:
    cache_control = {d.strip() for d in response["Cache-Control"].split(",")}
    assert {"no-store", "private"} <= cache_control, response["Cache-Control"]
    assert "public" not in cache_control


@pytest.mark.django_db
def test_patient_data_is_never_stored(client, navigator, given_cycle):
    patient = given_cycle.course.patient
    client.force_login(navigator)
    pages = [reverse("patients:detail", args=[patient.external_id]), "/navigator/", "/tasks/",
             reverse("prrt:cycle", args=[given_cycle.external_id]),
             reverse("prrt:cycle-instructions", args=[given_cycle.external_id])]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_no_store(response)
    assert client.get(pages[-1])["Content-Type"] == "application/pdf"
    # The calendar feed, fetched without a session.
    feed = client.post("/calendar/reset/").context["new_feed_url"]
    client.logout()
    response = client.get(feed)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    assert_no_store(response)
    # The API, read and written.
    api = client_for(navigator)
    assert_no_store(api.get(f"{API}/patients/{patient.external_id}/"))
    assert_no_store(api.get(f"{API}/patients/"))
    assert_no_store(api.post(f"{API}/patients/{patient.external_id}/labs/", {}, format="json"))


@pytest.mark.django_db
def test_redirects_and_the_sign_in_page_are_not_stored_either(client):
    assert_no_store(client.get("/accounts/login/"))
    assert_no_store(client.get("/navigator/"))  # to the sign-in


@pytest.mark.django_db
def test_static_files_keep_their_caching(client, settings):
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    client = type(client)()  # a new handler, so WhiteNoise reads the settings above
    response = client.get("/static/netcare/netcare.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
    sidecar = client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert sidecar.status_code == 200
    assert "no-store" not in sidecar.get("Cache-Control", "")


def test_the_middleware_is_registered_below_whitenoise(settings):
    middleware = settings.MIDDLEWARE
    assert middleware.index("whitenoise.middleware.WhiteNoiseMiddleware") \
        < middleware.index("netcare.middleware.NoStoreMiddleware") \
        < middleware.index("django.contrib.sessions.middleware.SessionMiddleware")
    assert "csp.middleware.CSPMiddleware" in middleware


# --- in a real browser: nothing the pages need is refused --------------------------------------


@pytest.mark.browser
def test_pages_and_the_api_docs_run_under_the_policy(page, live_server, login, navigator,
                                                     screenshot):
    refused = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    login("navigator")
    for path in ("/navigator/", "/tasks/", "/accounts/mfa/", "/prrt/courses/"):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
    screenshot("api-docs")
    assert refused == []
