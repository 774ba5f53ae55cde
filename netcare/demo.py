"""The synthetic demo world. Every person and number here is invented."""

from __future__ import annotations

from django.conf import settings

from netcare.models import Centre, Role, User

SPECIALIST_CENTRE = {
    "name": "Riverside NET Centre",
    "kind": Centre.Kind.SPECIALIST_CENTRE,
    "time_zone": "Europe/London",
    "phone": "+44 20 7946 0000",
    "email": "net-navigation@riverside.example",
    "address": "1 Example Way, London",
}
PRACTICES = [
    {"name": "Hillview Oncology Practice", "kind": Centre.Kind.REFERRING_PRACTICE,
     "time_zone": "Europe/London", "phone": "+44 1632 960000"},
    {"name": "Lakeside Cancer Clinic", "kind": Centre.Kind.REFERRING_PRACTICE,
     "time_zone": "Europe/London", "phone": "+44 1632 960111"},
]
USERS = [
    ("navigator", "Nora", "Navigator", Role.NAVIGATOR, 0, "Nurse navigator"),
    ("specialist", "Sam", "Specialist", Role.SPECIALIST, 0, "NET oncology"),
    ("oncologist", "Olive", "Oncologist", Role.REFERRING_ONCOLOGIST, 1, "Medical oncology"),
    ("oncologist2", "Otto", "Oncologist", Role.REFERRING_ONCOLOGIST, 2, "Medical oncology"),
    ("admin", "Ada", "Administrator", Role.ADMINISTRATOR, 0, ""),
]


def seed_demo() -> list[str]:
    """Create what is missing; return labels of what was created (empty when nothing was)."""
    created: list[str] = []
    centres = []
    for spec in [SPECIALIST_CENTRE, *PRACTICES]:
        centre, was_created = Centre.objects.get_or_create(name=spec["name"], defaults=spec)
        centres.append(centre)
        if was_created:
            created.append(centre.name)
    for username, first, last, role, centre_index, specialty in USERS:
        if User.objects.filter(username=username).exists():
            continue
        is_admin = role == Role.ADMINISTRATOR
        user = User(
            username=username, first_name=first, last_name=last, role=role,
            centre=centres[centre_index], specialty=specialty,
            email=f"{username}@netcare.example", is_staff=is_admin, is_superuser=is_admin,
        )
        user.set_password(settings.NETCARE_DEMO_PASSWORD)
        user.save()
        created.append(username)
    if seed_demo_precaution_sheet(centres[0]):
        created.append("precaution sheet")
    if seed_demo_infusion_rooms(centres[0]):
        created.append("infusion rooms")
    if seed_demo_supplier(centres[0]):
        created.append("dose supplier")
    from django.utils import timezone

    from netcare.demo_courses import seed_demo_courses
    from netcare.demo_patients import seed_demo_patients

    patients = seed_demo_patients()
    if patients:
        created.append(f"{len(patients)} patients")
    created += seed_demo_courses(timezone.localdate())
    created += seed_demo_network(centres[0])
    created += seed_demo_mdt(centres[0])
    from analytics.demo import seed_demo_history

    if archived := seed_demo_history(today=timezone.localdate()):
        created.append(f"{archived} patients treated over the past year (analytics)")
    return created


# The demo centre's own precaution sheet: 3 days for adults, 7 near children and pregnant women.
DEMO_SHEET_NEAR_CHILDREN = "Limit contact with small children and pregnant women."


def seed_demo_precaution_sheet(centre: Centre) -> bool:
    """Give the demo centre a two-duration precaution sheet, unless it keeps one already."""
    from prrt.models import PrecautionItem
    from prrt.precautions import TABLE_2, precaution_sheet_save

    if PrecautionItem.objects.filter(centre=centre).exists():
        return False
    items = [{"text": text, "days": 3, "audience": ""} for text in TABLE_2
             if text != DEMO_SHEET_NEAR_CHILDREN]
    items.append({"text": DEMO_SHEET_NEAR_CHILDREN, "days": 7,
                  "audience": "children and pregnant women"})
    navigator = User.objects.get(username="navigator")
    precaution_sheet_save(actor=navigator, centre=centre, items=items)
    return True


def seed_demo_infusion_rooms(centre: Centre) -> bool:
    """The demo centre's two infusion rooms: slots at 08:30 and 13:00, Monday to Thursday."""
    from prrt.models import InfusionRoom

    if InfusionRoom.objects.filter(centre=centre).exists():
        return False
    for name in ("Room 1", "Room 2"):
        InfusionRoom.objects.create(centre=centre, name=name, slot_times=["08:30", "13:00"],
                                    weekdays=[0, 1, 2, 3])
    return True


def seed_demo_supplier(centre: Centre) -> bool:
    """The demo centre orders its doses from one supplier on the default terms."""
    from prrt.models import Supplier
    from prrt.orders import supplier_saved

    if Supplier.objects.filter(centre=centre).exists():
        return False
    supplier = Supplier.objects.create(centre=centre, name="Synthetic Isotopes Inc.")
    supplier_saved(actor=None, supplier=supplier)
    return True


def seed_demo_network(centre: Centre) -> list[str]:
    """The demo centre's NET contact (the specialist) and navigator, two bulletins to its
    referring network, and two e-consults from the demo oncologist: one answered, one open."""
    import datetime as dt

    from django.utils import timezone

    from network import bulletins, contacts, econsult
    from network.models import EConsult, EConsultEvent, NetContact

    if NetContact.objects.filter(centre=centre).exists():
        return []
    navigator = User.objects.get(username="navigator")
    specialist = User.objects.get(username="specialist")
    oncologist = User.objects.get(username="oncologist")
    contacts.contact_add(actor=navigator, centre=centre, data={
        "user": specialist, "kind": NetContact.Kind.NET_CONTACT, "order": 1,
        "title": "NET contact (medical oncology)", "phone": "+44 20 7946 0101"})
    contacts.contact_add(actor=navigator, centre=centre, data={
        "user": navigator, "kind": NetContact.Kind.NAVIGATOR, "order": 2,
        "phone": "+44 20 7946 0102"})
    bulletins.bulletin_publish(
        actor=specialist, centre=centre, kind="algorithm",
        title="PRRT candidacy in one page",
        body="Well-differentiated GEP-NET, progressing on a somatostatin analogue, SSTR-positive "
             "on PET (uptake at least that of the liver), adequate marrow, renal and liver "
             "function: refer for PRRT. Unsure? Ask us through an e-consult first.")
    bulletins.bulletin_publish(
        actor=navigator, centre=centre, kind="newsletter", title="NET network newsletter",
        body="This quarter: our virtual case conference is open to referring oncologists, and "
             "the new e-consult lets you ask before you refer.",
        ends_on=timezone.localdate() + dt.timedelta(days=90))
    today = timezone.localdate()
    answered = econsult.econsult_ask(actor=oncologist, centre=centre, data={
        "question": "Is a 64-year-old with a progressing small-bowel NET on lanreotide a "
                    "candidate for PRRT?",
        "primary_site": "small_bowel", "grade": "G2", "ki67_percent": 5,
        "sstr_imaging": True, "sstr_modality": "ga68_dotatate_pet",
        "sstr_imaging_on": today - dt.timedelta(days=20), "sstr_positive": True,
        "current_ssa": "lanreotide", "labs_on": today - dt.timedelta(days=6),
        "labs": "Platelets 210, Hb 12.9 g/dL, creatinine 0.9 mg/dL, bilirubin 0.6 mg/dL."})
    asked_at = timezone.now() - dt.timedelta(hours=30)
    EConsult.objects.filter(pk=answered.pk).update(asked_at=asked_at)
    EConsultEvent.objects.filter(econsult=answered).update(at=asked_at)
    answered.refresh_from_db()
    econsult.econsult_transition(
        econsult=answered, name="answer", actor=specialist,
        answer="Yes, a good candidate: SSTR-positive, G2, progressing on an SSA. Refer with "
               "the last CT report; stop lanreotide at least 4 weeks before the first cycle.")
    econsult.econsult_ask(actor=oncologist, centre=centre, data={
        "question": "Pancreatic NET, no SSTR imaging yet: which scan first, and which labs?",
        "primary_site": "pancreas", "grade": "unknown", "sstr_imaging": False,
        "current_ssa": "none"})
    return ["NET contacts", "2 bulletins", "2 e-consults"]


def seed_demo_mdt(centre: Centre) -> list[str]:
    """The demo centre's MDT: a meeting two weeks ago with two signed outcomes (one action a
    care task on the patient's course, one an MDT action of a patient without a course), and
    one next week with two listed cases, the demo oncologist invited to one of them."""
    import datetime as dt
    import zoneinfo

    from django.utils import timezone

    from coordinators.models import OwnerParty
    from network import mdt, mdt_selectors
    from network.models import Discipline, MdtMeeting
    from patients.models import Patient

    if MdtMeeting.objects.filter(centre=centre).exists():
        return []
    navigator = User.objects.get(username="navigator")
    specialist = User.objects.get(username="specialist")
    patients = {p.family_name: p for p in Patient.objects.filter(
        centre=centre, family_name__in=["Fairlie", "Hartfield", "Calder", "Dunmore"])}
    if len(patients) < 4:
        return []
    zone = zoneinfo.ZoneInfo(centre.time_zone)
    today = timezone.localdate()

    def at(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(13, 0), tzinfo=zone)

    def meeting(day: dt.date):
        held = mdt.meeting_schedule(actor=navigator, starts_at=at(day), chair=specialist,
                                    place="Tumour board room, level 2",
                                    video_link="https://video.example/riverside-net-mdt")
        for name, discipline, virtual in (
                ("Dr Rhea Radley", Discipline.RADIOLOGY, False),
                ("Dr Paul Pathan", Discipline.PATHOLOGY, True),
                ("Ms Sara Surtees", Discipline.SURGERY, False),
                ("Dr Nuala Nuclear", Discipline.NUCLEAR_MEDICINE, False)):
            mdt.member_add(actor=navigator, meeting=held, external_name=name,
                           discipline=discipline, virtual=virtual)
        mdt.member_add(actor=navigator, meeting=held, user=navigator,
                       discipline=Discipline.NURSING)
        return held

    past = meeting(today - dt.timedelta(days=14))
    fairlie = mdt.case_list(
        actor=navigator, meeting=past, patient=patients["Fairlie"],
        question="Ki-67 35 %, well differentiated: PRRT, CAPTEM or a clinical trial?",
        referral=mdt_selectors.case_referral(patients["Fairlie"], centre.pk))
    hartfield = mdt.case_list(
        actor=navigator, meeting=past, patient=patients["Hartfield"],
        question="Cycle 2 withheld for platelets: continue PRRT, and at which activity?")
    mdt.member_invite_oncologist(actor=navigator, case=fairlie)
    mdt.meeting_transition(actor=navigator, meeting=past, name="hold")
    everyone = list(past.members.all())
    mdt.case_sign(
        actor=specialist, case=fairlie, recommendation="captem", attendees=everyone,
        rationale="A well-differentiated G3 pancreatic NET progressing on octreotide: CAPTEM "
                  "first; PRRT remains an option at progression if SSTR-positive.",
        actions=[mdt.ActionInput("Start CAPTEM locally and restage with CT after 3 cycles",
                                 OwnerParty.PRACTICE, today + dt.timedelta(days=14)),
                 mdt.ActionInput("Screen for the open NET trial", OwnerParty.CENTRE,
                                 today + dt.timedelta(days=7))])
    mdt.case_sign(
        actor=specialist, case=hartfield, recommendation="prrt",
        attendees=[m for m in everyone if m.discipline != Discipline.MEDICAL_ONCOLOGY],
        rationale="Grade 2 thrombocytopenia: resume at 3.7 GBq once platelets are 75 or more.",
        actions=[mdt.ActionInput("Repeat the blood count weekly until platelets reach 75",
                                 OwnerParty.CENTRE, today + dt.timedelta(days=3))])
    mdt.meeting_transition(actor=navigator, meeting=past, name="close")

    upcoming = meeting(today + dt.timedelta(days=5))
    calder = mdt.case_list(
        actor=navigator, meeting=upcoming, patient=patients["Calder"],
        question="Ki-67 12 %, progressing on SSA: PRRT now, or everolimus first?",
        referral=mdt_selectors.case_referral(patients["Calder"], centre.pk))
    mdt.case_list(
        actor=specialist, meeting=upcoming, patient=patients["Dunmore"],
        question="Pancreatic primary in place: surgery or debulking before PRRT?",
        referral=mdt_selectors.case_referral(patients["Dunmore"], centre.pk))
    mdt.member_invite_oncologist(actor=navigator, case=calder)
    return ["2 MDT meetings"]
