"""Every operation of /api/schema/, fuzzed with schemathesis: the API answers as it documents.

For two roles (a nurse navigator and a referring oncologist), each signed in with a real session
and seeded with synthetic records (patients at every stage, a course with an administered cycle,
care tasks, SSA injections, a referral thread), the schema NETcare serves is read back and every
operation in it, whatever it is when the test runs, is called with schema-conforming input
(`positive`) and with input that breaks the schema (`negative`). Path ids are the role's real
ids, found through the API's own lists, or random ones (a 404). Each answer must be no server
error, a documented status code, the documented content type and a body that matches its
schema. Nothing is left to chance: no Hypothesis database, a derandomised search, a bounded
number of cases per operation, all in-process through the WSGI application on the test's own
database transaction.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from decimal import Decimal

import pytest
import schemathesis
import time_machine
from django.conf import settings as django_settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.test import Client as WSGIClient

from netcare import session as netcare_session
from netcare.models import Role
from network.bulletins import bulletin_publish
from network.econsult import econsult_ask
from network.mdt import case_list, meeting_schedule
from patients.services import lab_result_add
from prrt import services as prrt_services
from prrt.injections import ssa_injection_record
from referrals.models import ReferralState
from referrals.services import referral_note_add
from tests.apiclient import make_records
from tests.factories import PatientFactory, ReferralFactory
from tests.prrt.builders import approved_course, at, enter_labs, give

pytestmark = pytest.mark.django_db

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
# Cases per operation, role and kind of input: bounded so the module stays within about three
# minutes on a busy machine; NETCARE_FUZZ_EXAMPLES=50 (say) searches deeper, still reproducibly.
EXAMPLES = int(os.environ.get("NETCARE_FUZZ_EXAMPLES", "4"))
MODES = {schemathesis.GenerationMode.POSITIVE: EXAMPLES,
         schemathesis.GenerationMode.NEGATIVE: max(1, EXAMPLES // 2)}
REAL_IDS_PER_PARAMETER = 2
ROLES = ("navigator", "oncologist")
HOST = "localhost"


# --- the application, in-process on the test's transaction ----------------------------------


@pytest.fixture
def app(settings):
    """Django's WSGI application on the test's database transaction: a request must not close
    the connection that holds it (what django.test.Client's handler does too)."""
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, HOST]
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


class SignedIn:
    """A browser signed in as `user`: its session and CSRF cookies, and the CSRF header."""

    def __init__(self, user) -> None:
        client = Client()
        client.force_login(user)
        session = client.session
        session[netcare_session.LOGIN_AT] = session[netcare_session.LAST_SEEN] = int(time.time())
        session.save()  # the clock of automatic logoff starts at sign-in, as the login page does
        token = _get_new_csrf_string()
        self.cookies = {
            django_settings.SESSION_COOKIE_NAME:
                client.cookies[django_settings.SESSION_COOKIE_NAME].value,
            django_settings.CSRF_COOKIE_NAME: token,
        }
        self.headers = {"X-CSRFToken": token}

    def get(self, app, path: str):
        """GET `path` with these cookies, through the WSGI application."""
        cookie = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        return WSGIClient(app, use_cookies=False).get(path, headers={"Cookie": cookie})


# --- synthetic records for every kind of id -------------------------------------------------


@pytest.fixture
def world(centre, practice, navigator, specialist, oncologist, django_capture_on_commit_callbacks):
    """Patients at every stage of one centre, referred by `oncologist`: referrals in each state,
    one course under eligibility review, one approved (cycle 1 administered three weeks ago, the
    next ones planned), their care tasks, SSA injections, labs and a discussion thread."""
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        for state in (ReferralState.DRAFT, ReferralState.SUBMITTED, ReferralState.UNDER_REVIEW,
                      ReferralState.INFO_REQUESTED, ReferralState.ACCEPTED):
            patient = PatientFactory(centre=centre, referring_oncologist=oncologist)
            referral = ReferralFactory(patient=patient, state=state)
            make_records(patient, oncologist)
            if state != ReferralState.DRAFT:
                referral_note_add(referral=referral, author=oncologist, body="Recent CT attached.")

        first = today - dt.timedelta(days=21)
        with time_machine.travel(at(first - dt.timedelta(days=20)), tick=False):
            course = approved_course(centre=centre, oncologist=oncologist,
                                     specialist=specialist, first_dose=first)
            enter_labs(specialist, course.patient, first - dt.timedelta(days=2))
            c1 = prrt_services.cycle_refresh(cycle=course.cycles.get(number=1),
                                             today=first - dt.timedelta(days=2))
            prrt_services.cycle_decide(actor=specialist, cycle=c1, decision="approve",
                                       activity_gbq=Decimal("7.4"),
                                       today=first - dt.timedelta(days=1))
        with time_machine.travel(at(first, 18), tick=False):
            give(navigator, course.cycles.get(number=1), first)
        ssa_injection_record(actor=navigator, patient=course.patient, agent="octreotide_lar",
                             given_at=at(first - dt.timedelta(days=28)), dose_mg=Decimal("30"))
        lab_result_add(actor=oncologist, patient=course.patient, analyte="platelets",
                       value="190", unit="10^9/L", collected_at=at(today - dt.timedelta(days=1)))

        planned = approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                                  first_dose=today + dt.timedelta(days=20))
        review = ReferralFactory(
            patient=PatientFactory(centre=centre, referring_oncologist=oncologist),
            state=ReferralState.ACCEPTED)
        prrt_services.course_open(actor=specialist, referral=review,
                                  planned_first_dose=today + dt.timedelta(days=30))
        # The shared-care network: an e-consult from the oncologist, a bulletin to its network.
        econsult_ask(actor=oncologist, centre=centre, data={
            "question": "Candidate for PRRT?", "primary_site": "pancreas"})
        bulletin_publish(actor=specialist, centre=centre, kind="trial", title="A trial opens",
                         body="Ask us about eligibility.")
        # An MDT meeting with one of the oncologist's patients on its list.
        meeting = meeting_schedule(actor=navigator, chair=specialist, place="Board room",
                                   starts_at=timezone.now() + dt.timedelta(days=2))
        case_list(actor=navigator, meeting=meeting, patient=course.patient,
                  question="Continue PRRT?")
    assert course.cycles.filter(administration__isnull=False).exists()
    assert planned.care_tasks.exists()
    assert {navigator.role, oncologist.role} == {Role.NAVIGATOR, Role.REFERRING_ONCOLOGIST}
    return {"navigator": navigator, "oncologist": oncologist}


# --- real ids, found through the API's own lists --------------------------------------------

PARAMETER = re.compile(r"\{(\w+)\}")


def list_ids(app, browser: SignedIn, path: str) -> list[str]:
    """The `id`s of the first page of the list at `path` (none when there is no such list)."""
    response = browser.get(app, path)
    if response.status_code != 200 or not response.is_json:
        return []
    body = response.get_json()
    rows = body.get("results", []) if isinstance(body, dict) else body
    return [row["id"] for row in rows if isinstance(row, dict) and "id" in row]


def real_path_parameters(app, browser: SignedIn, template: str,
                         cache: dict[str, list[str]]) -> list[dict[str, str]]:
    """Path parameters of `template` naming real objects the user may see: each `{name}` is an
    id from the list the path holds up to it (`/patients/{patient_id}/labs/{id}/`: a patient
    from `/patients/`, then one of their labs from `/patients/<that id>/labs/`)."""
    combinations: list[dict[str, str]] = [{}]
    for match in PARAMETER.finditer(template):
        collection = template[:match.start()]
        found = []
        for known in combinations:
            path = collection.format(**known)
            if path not in cache:
                cache[path] = list_ids(app, browser, path)
            found += [{**known, match.group(1): value}
                      for value in cache[path][:REAL_IDS_PER_PARAMETER]]
        combinations = found
    return combinations if PARAMETER.search(template) else []


# --- the run ----------------------------------------------------------------------------------


def fuzz(app, operation, browser: SignedIn, real: list[dict[str, str]],
         failures: list[str]) -> int:
    """Call `operation` with every kind of generated input; record what breaks its contract
    (once per operation and kind of failure). Returns the number of calls."""
    calls = 0
    seen: set[str] = set()

    def generate(mode: schemathesis.GenerationMode, examples: int) -> None:
        strategies = [operation.as_strategy(generation_mode=mode, path_parameters=parameters)
                      for parameters in real]
        strategies.append(operation.as_strategy(generation_mode=mode))

        @hypothesis_settings(max_examples=examples, database=None, derandomize=True,
                             deadline=None, phases=[Phase.generate],
                             suppress_health_check=list(HealthCheck), print_blob=False)
        @given(case=st.one_of(strategies))
        def call(case):
            nonlocal calls
            calls += 1
            try:
                case.call_and_validate(app=app, headers=browser.headers,
                                       cookies=browser.cookies, checks=CHECKS)
            except FailureGroup as group:  # failed checks: note them, keep fuzzing
                for failure in group.exceptions:
                    note(failure)
            except Failure as failure:
                note(failure)

        def note(failure: Failure) -> None:
            kind = f"{type(failure).__name__}: {failure.title}"
            if kind not in seen:
                seen.add(kind)
                failures.append(f"{mode.value} {operation.label}: {failure}")

        call()

    for mode, examples in MODES.items():
        generate(mode, examples)
    return calls


def fuzz_as(app, user, role: str, failures: list[str]) -> dict[str, int]:
    """Fuzz every operation of the schema served to `user`; returns the calls per operation."""
    browser = SignedIn(user)
    served = browser.get(app, "/api/schema/?format=json")
    assert served.status_code == 200, served.status_code
    schema = schemathesis.openapi.from_dict(served.get_json())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40, "the schema lost its operations"
    cache: dict[str, list[str]] = {}
    calls: dict[str, int] = {}
    for operation in operations:
        real = real_path_parameters(app, browser, operation.path, cache)
        if PARAMETER.search(operation.path) and not real and operation.method == "get":
            # A read with ids the user cannot reach would only ever be a 404: the seed is
            # missing something, not the API.
            pytest.fail(f"No real id for {operation.label} as the {role}")
        found: list[str] = []
        calls[operation.label] = fuzz(app, operation, browser, real, found)
        failures += [f"as the {role}, {failure}" for failure in found]
    return calls


def test_every_operation_answers_as_documented(app, world):
    failures: list[str] = []
    calls = {role: fuzz_as(app, world[role], role, failures) for role in ROLES}

    assert not failures, f"{len(failures)} contract failures:\n\n" + "\n\n".join(failures)
    for role, per_operation in calls.items():
        assert all(per_operation.values()), (role, [op for op, n in per_operation.items() if not n])


def test_a_schema_that_lies_is_caught(app, navigator, patient):
    """The run can fail: served a schema that says a referral always has a reviewer, the
    fuzzing of the referral list reports the null it gets back."""
    ReferralFactory(patient=patient, state=ReferralState.SUBMITTED)  # no reviewer yet
    browser = SignedIn(navigator)
    document = browser.get(app, "/api/schema/?format=json").get_json()
    reviewer = document["components"]["schemas"]["Referral"]["properties"]["reviewer"]
    assert reviewer.pop("nullable") is True
    schema = schemathesis.openapi.from_dict(document)
    operation = schema["/api/v1/referrals/"]["GET"]
    failures: list[str] = []
    assert fuzz(app, operation, browser, [], failures) > 0
    assert failures and all("reviewer" in failure for failure in failures), failures
