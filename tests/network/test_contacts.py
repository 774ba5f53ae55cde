"""NET contacts and the referring network: who is in a centre's network, the contacts on the
referring oncologist's home page, the course letter and the radiation-safety instruction sheet,
and the team's contacts page (audited changes, errors beside their fields, nobody else)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from netcare.models import AuditEvent, Role
from network.contacts import network_centres, network_practices
from network.models import NetContact, NetworkPractice
from prrt.instructions import instructions_for, instructions_html
from referrals.models import ReferralState
from tests.factories import PatientFactory, PracticeFactory, ReferralFactory, UserFactory
from tests.prrt.builders import approved_course

pytestmark = pytest.mark.django_db


def refer(centre, oncologist, state=ReferralState.SUBMITTED):
    return ReferralFactory(patient=PatientFactory(centre=centre, referring_oncologist=oncologist),
                           state=state)


@pytest.fixture
def contacts(centre, specialist, navigator):
    """The centre's NET contact (the specialist, with a direct line), its navigator, someone
    without an account, and a contact taken off the list."""
    return [
        NetContact.objects.create(centre=centre, user=specialist, order=1,
                                  title="NET contact (medical oncology)", phone="+44 20 7946 0101"),
        NetContact.objects.create(centre=centre, user=navigator, order=2,
                                  kind=NetContact.Kind.NAVIGATOR, phone="+44 20 7946 0102"),
        NetContact.objects.create(centre=centre, name="Dr Nadia Nuclear", order=3,
                                  title="Nuclear medicine", email="nuclear@riverside.example"),
        NetContact.objects.create(centre=centre, name="Dr Gone Away", order=4, active=False),
    ]


SHOWN = ["NET contact (medical oncology): telephone +44 20 7946 0101",
         "Nurse navigator: telephone +44 20 7946 0102",
         "<strong>Dr Nadia Nuclear</strong>, Nuclear medicine: nuclear@riverside.example"]


def assert_contacts_shown(html: str) -> None:
    for text in SHOWN:
        assert text in html, text
    assert "Dr Gone Away" not in html
    assert html.index("0101") < html.index("0102") < html.index("Nadia")  # the centre's order


# --- the network ------------------------------------------------------------------------------


def test_the_network_is_who_referred_and_who_was_added(centre, other_centre, oncologist,
                                                       oncologist2, practice, practice2,
                                                       navigator):
    drafting = UserFactory(role=Role.REFERRING_ONCOLOGIST, centre=PracticeFactory())
    added = PracticeFactory(name="Added By Hand Clinic")
    assert not network_practices(centre).exists()
    refer(centre, oncologist)  # submitted: Hillview is in
    refer(centre, drafting, state=ReferralState.DRAFT)  # a draft refers no one yet
    refer(other_centre, oncologist2)  # Lakeside referred elsewhere
    NetworkPractice.objects.create(centre=centre, practice=added, added_by=navigator)
    assert list(network_practices(centre)) == [added, practice]
    assert list(network_practices(other_centre)) == [practice2]
    # The same rule from the practice's side.
    for candidate in (practice, practice2, added, drafting.centre):
        assert set(network_centres(candidate)) == {
            c for c in (centre, other_centre) if candidate in network_practices(c)}
    assert not network_centres(None).exists()


def test_a_practice_added_by_the_team(client, navigator, centre, practice2):
    client.force_login(navigator)
    response = client.post(reverse("network:contacts"), {"practice-practice": practice2.pk})
    assert response.status_code == 302
    assert list(network_practices(centre)) == [practice2]
    link = NetworkPractice.objects.get()
    assert AuditEvent.objects.filter(action="create", object_id=str(link.pk),
                                     actor=navigator).exists()
    # Twice is once.
    client.post(reverse("network:contacts"), {"practice-practice": practice2.pk})
    assert NetworkPractice.objects.count() == 1


# --- where contacts are shown -----------------------------------------------------------------


def test_contacts_on_the_home_page_of_the_network_only(client, centre, oncologist, oncologist2,
                                                       contacts):
    refer(centre, oncologist)
    client.force_login(oncologist)
    response = client.get(reverse("oncologist-home"))
    assert response.status_code == 200
    assert_contacts_shown(response.content.decode())
    client.force_login(oncologist2)  # Lakeside has not referred to Riverside
    html = client.get(reverse("oncologist-home")).content.decode()
    assert "+44 20 7946 0101" not in html and "Nadia" not in html
    assert "No NET centre counts your practice in its network yet" in html


def test_contacts_on_the_instruction_sheet(centre, oncologist, specialist, contacts):
    course = approved_course(centre=centre, oncologist=oncologist, specialist=specialist,
                             first_dose=dt.date.today() + dt.timedelta(days=14))
    html = instructions_html(instructions_for(course.cycles.get(number=1),
                                              today=dt.date.today()))
    assert "NET contacts at Riverside NET Centre" in html
    assert_contacts_shown(html)


def test_contacts_on_the_course_letter(centre, patient, contacts):
    letter = SimpleNamespace(body="Dear colleague, ...", sent_at=None)
    html = render_to_string("coordinators/letter_pdf.html", {
        "letter": letter, "patient": patient, "centre": centre, "is_draft": False})
    assert_contacts_shown(html)


def test_no_contacts_no_section(centre, patient):
    html = render_to_string("coordinators/letter_pdf.html", {
        "letter": SimpleNamespace(body="Dear colleague", sent_at=None), "patient": patient,
        "centre": centre, "is_draft": False})
    assert "NET contacts at" not in html


# --- the contacts page --------------------------------------------------------------------------


def test_the_team_names_a_contact(client, navigator, specialist, centre):
    client.force_login(navigator)
    assert client.get(reverse("network:contacts")).status_code == 200
    response = client.post(reverse("network:contacts"), {
        "contact-user": specialist.pk, "contact-name": "", "contact-kind": "net_contact",
        "contact-title": "NET contact", "contact-phone": "+44 20 7946 0101",
        "contact-email": "", "contact-order": "1", "contact-active": "on"})
    assert response.status_code == 302
    contact = NetContact.objects.get()
    assert (contact.user, contact.centre, contact.phone_number, contact.email_address) == (
        specialist, centre, "+44 20 7946 0101", specialist.email)
    assert AuditEvent.objects.filter(action="create", object_id=str(contact.external_id),
                                     actor=navigator).exists()
    response = client.post(reverse("network:contact-edit", args=[contact.external_id]), {
        "contact-user": specialist.pk, "contact-name": "", "contact-kind": "net_contact",
        "contact-title": "NET contact", "contact-phone": "+44 20 7946 0199",
        "contact-email": "", "contact-order": "1"})
    assert response.status_code == 302
    contact.refresh_from_db()
    assert (contact.phone, contact.active) == ("+44 20 7946 0199", False)
    change = AuditEvent.objects.get(action="update", object_id=str(contact.external_id))
    assert change.changes == {"active": [True, False],
                              "phone": ["+44 20 7946 0101", "+44 20 7946 0199"]}


@pytest.mark.parametrize(("data", "field"), [
    ({"contact-user": "", "contact-name": ""}, "name"),
    ({"contact-user": "OTHER", "contact-name": ""}, "user"),
    ({"contact-user": "SPECIALIST", "contact-name": "Dr Two Names"}, "name"),
    ({"contact-user": "", "contact-name": "Dr N", "contact-email": "not-an-email"}, "email"),
])
def test_a_bad_contact_is_refused_beside_its_field(client, navigator, specialist,
                                                   outside_specialist, data, field):
    ids = {"OTHER": outside_specialist.pk, "SPECIALIST": specialist.pk}
    data = {"contact-kind": "net_contact", "contact-order": "0",
            **{k: ids.get(v, v) for k, v in data.items()}}
    client.force_login(navigator)
    response = client.post(reverse("network:contacts"), data)
    assert response.status_code == 400
    assert f'id="id_contact-{field}_error"' in response.content.decode()
    assert not NetContact.objects.exists()


def test_only_the_centre_team_changes_contacts(client, oncologist, outside_navigator,
                                               administrator, contacts):
    for user in (oncologist, administrator):
        client.force_login(user)
        assert client.get(reverse("network:contacts")).status_code == 403
    client.force_login(outside_navigator)
    url = reverse("network:contact-edit", args=[contacts[0].external_id])
    assert client.get(url).status_code == 404
    assert client.post(url, {"contact-name": "Hijack"}).status_code == 404
    listed = client.get(reverse("network:contacts"))
    assert listed.status_code == 200 and "+44 20 7946 0101" not in listed.content.decode()
