"""E-consult pages and API: who sees which (an oncologist only their own, a centre those sent to
it, everyone else a 404), asking with errors beside their fields, audited reads, and "refer now"
keeping every field of the e-consult in the referral."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django import forms as django_forms
from django.urls import reverse

from netcare.models import AuditEvent, AuditEventPatient
from network.econsult import SUMMARY_FIELDS
from network.models import EConsult, EConsultEvent, EConsultState
from patients.models import ImagingStudy, TumourProfile
from referrals.models import Referral, ReferralState
from tests.apiclient import API, client_for, results
from tests.network.econsults import make_econsult
from tests.querycount import assert_constant_queries

pytestmark = pytest.mark.django_db


@pytest.fixture
def today_fixed(time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC), tick=False)


@pytest.fixture
def mine(centre, oncologist):
    return make_econsult(centre=centre, asked_by=oncologist, question="Mine: candidate?")


@pytest.fixture
def theirs(centre, oncologist2):
    return make_econsult(centre=centre, asked_by=oncologist2, question="Theirs: which scan?")


@pytest.fixture
def elsewhere(other_centre, oncologist):
    return make_econsult(centre=other_centre, asked_by=oncologist, question="Elsewhere: labs?")


def page(client, user, url, status=200):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response


# --- scope: pages -----------------------------------------------------------------------------


def test_an_oncologist_sees_only_their_own(client, oncologist, mine, theirs, elsewhere):
    listed = page(client, oncologist, reverse("network:econsults"))
    assert {e.pk for e in listed.context["open"]} == {mine.pk, elsewhere.pk}
    assert "Theirs: which scan?" not in listed.content.decode()
    assert page(client, oncologist, reverse("network:econsult", args=[mine.external_id]))
    for url in (reverse("network:econsult", args=[theirs.external_id]),
                reverse("network:econsult-refer", args=[theirs.external_id])):
        page(client, oncologist, url, status=404)
    response = client.post(reverse("network:econsult-action",
                                   args=[theirs.external_id, "withdraw"]))
    assert response.status_code == 404
    assert EConsult.objects.get(pk=theirs.pk).state == EConsultState.ASKED


def test_a_centre_sees_those_sent_to_it(client, specialist, navigator, outside_specialist,
                                        mine, theirs, elsewhere):
    for user in (specialist, navigator):
        listed = page(client, user, reverse("network:econsults"))
        assert {e.pk for e in listed.context["open"]} == {mine.pk, theirs.pk}
    page(client, outside_specialist, reverse("network:econsult", args=[mine.external_id]),
         status=404)
    listed = page(client, outside_specialist, reverse("network:econsults"))
    assert [e.pk for e in listed.context["open"]] == [elsewhere.pk]


def test_administrators_have_no_econsults(client, administrator, mine):
    page(client, administrator, reverse("network:econsults"), status=403)
    page(client, administrator, reverse("network:econsult", args=[mine.external_id]),
         status=404)


def test_opening_one_is_an_audited_view(client, oncologist, mine):
    page(client, oncologist, reverse("network:econsult", args=[mine.external_id]))
    assert AuditEvent.objects.filter(action="view", object_id=str(mine.external_id),
                                     actor=oncologist).count() == 1


def test_the_list_audits_the_patients_it_names(client, oncologist, centre, patient):
    referred = make_econsult(centre=centre, asked_by=oncologist, state=EConsultState.CLOSED,
                             referral=_referral(patient))
    make_econsult(centre=centre, asked_by=oncologist)
    response = page(client, oncologist, reverse("network:econsults"))
    assert patient.family_name in response.content.decode()
    event = AuditEvent.objects.get(action="list", note="network:econsults")
    assert list(AuditEventPatient.objects.filter(event=event)
                .values_list("patient_id", flat=True)) == [patient.external_id]
    assert referred.referral.patient == patient


def test_the_list_reads_a_constant_number_of_queries(client, oncologist, centre, patient):
    client.force_login(oncologist)
    make_econsult(centre=centre, asked_by=oncologist, state=EConsultState.CLOSED,
                  referral=_referral(patient))

    def grow():
        for _ in range(3):
            make_econsult(centre=centre, asked_by=oncologist, state=EConsultState.ANSWERED)
            make_econsult(centre=centre, asked_by=oncologist, state=EConsultState.CLOSED,
                          referral=_referral(patient))

    response = assert_constant_queries(lambda: client.get(reverse("network:econsults")),
                                       grow=grow)
    assert len(response.context["open"]) + len(response.context["done"]) == 7


def _referral(patient):
    from tests.factories import ReferralFactory

    return ReferralFactory(patient=patient, state=ReferralState.SUBMITTED)


# --- asking through the page ------------------------------------------------------------------


def ask_post(centre, **overrides):
    data = {
        "centre": str(centre.pk), "question": "Is she a candidate for PRRT?",
        "primary_site": "small_bowel", "grade": "G2", "ki67_percent": "4",
        "sstr_imaging": "yes", "sstr_modality": "ga68_dotatate_pet",
        "sstr_imaging_on": "2026-10-01", "sstr_positive": "true", "current_ssa": "lanreotide",
        "labs_on": "2026-11-15", "labs": "Platelets 210.",
    }
    data.update(overrides)
    return data


def test_asking_through_the_page(client, oncologist, centre, today_fixed):
    client.force_login(oncologist)
    assert client.get(reverse("network:econsult-new")).status_code == 200
    response = client.post(reverse("network:econsult-new"), ask_post(centre))
    econsult = EConsult.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("network:econsult", args=[econsult.external_id])
    assert (econsult.sstr_imaging, econsult.sstr_imaging_on, econsult.ki67_percent) == (
        True, dt.date(2026, 10, 1), Decimal("4.0"))


def test_a_bad_summary_is_refused_beside_its_field(client, oncologist, centre, today_fixed):
    client.force_login(oncologist)
    response = client.post(reverse("network:econsult-new"),
                           ask_post(centre, sstr_imaging_on="", labs_on="2026-11-23"))
    assert response.status_code == 400
    html = response.content.decode()
    for field, message in (("sstr_imaging_on", "Give the date of the SSTR imaging."),
                           ("labs_on", "The labs date is in the future.")):
        assert f'aria-describedby="id_{field}_error"' in html or \
            f'id_{field}_error"' in html.split(f'id="id_{field}"')[1][:200], field
        assert f'<div class="field-errors" id="id_{field}_error">' in html
        assert message in html
    assert not EConsult.objects.exists()


@pytest.mark.parametrize("persona", ["specialist", "navigator", "administrator"])
def test_only_oncologists_ask(request, client, persona):
    page(client, request.getfixturevalue(persona), reverse("network:econsult-new"), status=403)


def test_answering_through_the_page(client, specialist, mine):
    client.force_login(specialist)
    response = client.post(reverse("network:econsult-action", args=[mine.external_id, "answer"]),
                           {"answer": "Yes, refer her."})
    assert response.status_code == 302
    stored = EConsult.objects.get(pk=mine.pk)
    assert (stored.state, stored.answer, stored.answered_by) == (
        EConsultState.ANSWERED, "Yes, refer her.", specialist)


# --- refer now ----------------------------------------------------------------------------------


def post_data(forms) -> dict[str, str]:
    """What the browser sends back from the forms as rendered (their initial values)."""
    data: dict[str, str] = {}
    for form in forms.values():
        for field in form:
            value = field.value()
            widget = field.field.widget
            if isinstance(widget, django_forms.CheckboxInput):
                if value:
                    data[field.html_name] = "on"
                continue
            if isinstance(widget, django_forms.NullBooleanSelect):
                value = {True: "true", False: "false"}.get(value, "unknown")
            data[field.html_name] = "" if value is None else str(value)
    return data


# Where each field of the e-consult's summary is found in the referral it became.
KEPT = {
    "centre": lambda r, e: r.centre == e.centre,
    "question": lambda r, e: r.question == e.question,
    "primary_site": lambda r, e: r.patient.tumour.primary_site == e.primary_site,
    "grade": lambda r, e: (r.patient.tumour.differentiation == "well"
                           and "WHO grade given: NET G2" in r.history),
    "ki67_percent": lambda r, e: r.patient.tumour.ki67_percent == e.ki67_percent,
    "sstr_imaging": lambda r, e: r.patient.imaging.filter(
        modality__in=ImagingStudy.SSTR_MODALITIES).count() == 1,
    "sstr_modality": lambda r, e: r.patient.imaging.get().modality == e.sstr_modality,
    "sstr_imaging_on": lambda r, e: r.patient.imaging.get().performed_on == e.sstr_imaging_on,
    "sstr_positive": lambda r, e: r.patient.imaging.get().sstr_positive is e.sstr_positive,
    "current_ssa": lambda r, e: r.patient.current_ssa == e.current_ssa,
    "labs_on": lambda r, e: (r.patient.labs.get().collected_at.date() == e.labs_on
                             and "Recent labs (15 Nov 2026)" in r.history),
    "labs": lambda r, e: e.labs in r.history,
}


def test_refer_now_keeps_every_field(client, oncologist, specialist, centre, today_fixed):
    assert set(KEPT) == set(SUMMARY_FIELDS)  # a new summary field needs its place here
    econsult = make_econsult(centre=centre, asked_by=oncologist, state=EConsultState.ANSWERED,
                             answered_by=specialist, answer="Yes: refer with the last CT.")
    client.force_login(oncologist)
    detail = client.get(reverse("network:econsult", args=[econsult.external_id]))
    refer_url = reverse("network:econsult-refer", args=[econsult.external_id])
    assert f'href="{refer_url}"' in detail.content.decode()
    form_page = client.get(refer_url)
    assert form_page.status_code == 200
    data = post_data(form_page.context["forms"])
    # Everything the e-consult holds is already there: only who the patient is, and a lab value
    # to go with the labs' date, are typed.
    assert {key: data[key] for key in (
        "referral-centre", "referral-question", "tumour-primary_site", "tumour-differentiation",
        "tumour-ki67_percent", "imaging-modality", "imaging-performed_on",
        "imaging-sstr_positive", "patient-current_ssa", "labs-collected_on")} == {
        "referral-centre": str(centre.pk), "referral-question": econsult.question,
        "tumour-primary_site": "small_bowel", "tumour-differentiation": "well",
        "tumour-ki67_percent": "4.0", "imaging-modality": "ga68_dotatate_pet",
        "imaging-performed_on": "2026-10-01", "imaging-sstr_positive": "true",
        "patient-current_ssa": "octreotide_lar", "labs-collected_on": "2026-11-15"}
    assert "Yes: refer with the last CT." in data["referral-history"]
    data.update({"patient-given_name": "Maya", "patient-family_name": "Moorland",
                 "patient-date_of_birth": "1962-05-14", "patient-sex": "F",
                 "labs-platelets_value": "210", "labs-platelets_unit": "10^9/L",
                 "submit": "1"})
    response = client.post(refer_url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    referral = Referral.objects.get()
    assert response["Location"] == reverse("referrals:detail", args=[referral.external_id])
    assert referral.state == ReferralState.SUBMITTED
    econsult.refresh_from_db()
    for field, kept in KEPT.items():
        assert kept(referral, econsult), field
    assert "Yes: refer with the last CT." in referral.history
    assert TumourProfile.objects.get(patient=referral.patient).grade == "G2"
    assert (econsult.state, econsult.referral) == (EConsultState.CLOSED, referral)
    assert EConsultEvent.objects.filter(econsult=econsult, transition="refer").count() == 1
    # Once referred, "refer now" is gone.
    assert client.get(refer_url).status_code == 302
    assert Referral.objects.count() == 1


def test_refer_now_goes_to_the_centre_asked(client, oncologist, centre, other_centre,
                                            today_fixed):
    econsult = make_econsult(centre=centre, asked_by=oncologist, state=EConsultState.ANSWERED)
    client.force_login(oncologist)
    url = reverse("network:econsult-refer", args=[econsult.external_id])
    data = post_data(client.get(url).context["forms"])
    data.update({"patient-given_name": "Maya", "patient-family_name": "Moorland",
                 "patient-date_of_birth": "1962-05-14", "patient-sex": "F",
                 "referral-centre": str(other_centre.pk), "submit": "1"})
    response = client.post(url, data)
    assert response.status_code == 400
    assert "id_referral-centre_error" in response.content.decode()
    assert not Referral.objects.exists()
    assert EConsult.objects.get(pk=econsult.pk).referral is None


def test_refer_now_is_for_an_answered_econsult_of_ones_own(client, oncologist, specialist,
                                                           mine):
    client.force_login(oncologist)
    url = reverse("network:econsult-refer", args=[mine.external_id])
    response = client.get(url)  # still asked: not yet
    assert response.status_code == 302
    assert "refer-now" not in client.get(
        reverse("network:econsult", args=[mine.external_id])).content.decode()
    client.force_login(specialist)
    assert client.get(url).status_code == 302


# --- the API ------------------------------------------------------------------------------------


def test_api_scope(oncologist, oncologist2, navigator, outside_navigator, mine, theirs,
                   elsewhere):
    def ids(user):
        response = client_for(user).get(f"{API}/econsults/")
        assert response.status_code == 200
        return {row["id"] for row in results(response)}

    assert ids(oncologist) == {str(mine.external_id), str(elsewhere.external_id)}
    assert ids(oncologist2) == {str(theirs.external_id)}
    assert ids(navigator) == {str(mine.external_id), str(theirs.external_id)}
    assert ids(outside_navigator) == {str(elsewhere.external_id)}
    assert client_for(oncologist2).get(
        f"{API}/econsults/{mine.external_id}/").status_code == 404
    assert client_for(oncologist).get(
        f"{API}/econsults/{mine.external_id}/").status_code == 200
    refused = client_for(oncologist2).post(f"{API}/econsults/{mine.external_id}/withdraw/", {},
                                           format="json")
    assert refused.status_code == 404


def test_api_list_reads_a_constant_number_of_queries(oncologist, centre, patient):
    client = client_for(oncologist)
    make_econsult(centre=centre, asked_by=oncologist, state=EConsultState.CLOSED,
                  referral=_referral(patient))

    def grow():
        for _ in range(3):
            make_econsult(centre=centre, asked_by=oncologist, state=EConsultState.CLOSED,
                          referral=_referral(patient))

    response = assert_constant_queries(lambda: client.get(f"{API}/econsults/"), grow=grow)
    assert len(results(response)) == 4


def test_api_ask_answer_and_refusals(oncologist, specialist, navigator, centre, today_fixed,
                                     django_capture_on_commit_callbacks):
    body = {"centre": str(centre.external_id), "question": "Candidate?",
            "primary_site": "pancreas", "grade": "G1", "ki67_percent": "2.0",
            "sstr_imaging": True, "sstr_imaging_on": "2026-11-01",
            "sstr_modality": "ga68_dotatate_pet", "sstr_positive": True}
    assert client_for(navigator).post(f"{API}/econsults/", body,
                                      format="json").status_code == 403
    missing = client_for(oncologist).post(f"{API}/econsults/",
                                          {**body, "sstr_imaging_on": None}, format="json")
    assert (missing.status_code, missing.json()["field"]) == (400, "sstr_imaging_on")
    unknown = client_for(oncologist).post(f"{API}/econsults/",
                                          {**body, "centre": str(oncologist.external_id)},
                                          format="json")
    assert (unknown.status_code, unknown.json()["field"]) == (400, "centre")
    created = client_for(oncologist).post(f"{API}/econsults/", body, format="json")
    assert created.status_code == 201, created.json()
    row = created.json()
    assert (row["state"], row["available_actions"]) == ("asked", ["withdraw"])
    url = f"{API}/econsults/{row['id']}/"
    assert client_for(navigator).get(url).json()["available_actions"] == []
    assert client_for(oncologist).post(f"{url}answer/", {"answer": "x"},
                                       format="json").status_code == 403
    blank = client_for(specialist).post(f"{url}answer/", {"answer": ""}, format="json")
    assert (blank.status_code, blank.json()["field"]) == (400, "answer")
    with django_capture_on_commit_callbacks(execute=True):
        answered = client_for(specialist).post(f"{url}answer/", {"answer": "Yes."},
                                               format="json")
    assert answered.status_code == 200
    assert answered.json()["state"] == "answered"
    assert answered.json()["response_hours"] == "0.0"
    assert answered.json()["answered_by"]["id"] == str(specialist.external_id)
    again = client_for(specialist).post(f"{url}answer/", {"answer": "Yes."}, format="json")
    assert again.status_code == 409
