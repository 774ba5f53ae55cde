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
    from django.utils import timezone

    from netcare.demo_courses import seed_demo_courses
    from netcare.demo_patients import seed_demo_patients

    patients = seed_demo_patients()
    if patients:
        created.append(f"{len(patients)} patients")
    created += seed_demo_courses(timezone.localdate())
    return created
