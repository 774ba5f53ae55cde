"""Patients: the person at the centre of every referral, course and task."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from netcare.models import Centre


class Patient(models.Model):
    """A patient treated (or proposed for treatment) at a NET specialist centre.

    `centre` is the treating specialist centre; `referring_oncologist` the oncologist who referred
    the patient; `primary_oncologist` the oncologist who looks after them near home, when that is
    someone else. These three fields decide who may see the record (netcare.access).
    """

    class Sex(models.TextChoices):
        FEMALE = "F", "Female"
        MALE = "M", "Male"

    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    centre = models.ForeignKey(Centre, on_delete=models.PROTECT, related_name="patients")
    referring_oncologist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="referred_patients"
    )
    primary_oncologist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="primary_patients",
    )
    mrn = models.CharField("MRN", max_length=32)
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=1, choices=Sex.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["family_name", "given_name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["centre", "mrn"], name="patient_mrn_unique_per_centre"),
        ]

    def __str__(self) -> str:
        return f"{self.family_name}, {self.given_name} ({self.mrn})"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"
