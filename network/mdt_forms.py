"""The MDT pages' forms: they parse and check the input; the services (network.mdt) decide."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

from coordinators.models import OwnerParty
from network.models import Discipline, MdtMember, Recommendation
from patients.forms import DATE_INPUT, CentreDateTimeField

ACTION_ROWS = 3


class MeetingForm(forms.Form):
    title = forms.CharField(label="Title", max_length=120, initial="NET case conference")
    starts_at = CentreDateTimeField(label="Starts at")
    duration_minutes = forms.IntegerField(label="Duration (minutes)", min_value=15,
                                          max_value=480, initial=60)
    place = forms.CharField(label="Room", max_length=200, required=False,
                            help_text="Where the team meets, if it meets in a room.")
    video_link = forms.URLField(label="Video link", max_length=300, required=False,
                                assume_scheme="https",
                                help_text="The https:// address for virtual attendance.")
    chair = forms.ChoiceField(label="Chair")

    def __init__(self, *args, team: list, time_zone: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._team = {str(user.external_id): user for user in team}
        self.fields["chair"].choices = [(key, f"{user} ({user.get_role_display()})")
                                        for key, user in self._team.items()]
        when = self.fields["starts_at"]
        when.time_zone = time_zone
        when.help_text = f"The centre's local time ({time_zone})."

    def clean_chair(self):
        return self._team[self.cleaned_data["chair"]]

    def clean(self):
        data = super().clean()
        if not data.get("place", "").strip() and not data.get("video_link", "").strip() \
                and "place" not in self.errors and "video_link" not in self.errors:
            self.add_error("place", "Give the room, the video link or both.")
        return data


class MemberForm(forms.Form):
    user = forms.ChoiceField(label="Member of the team", required=False)
    external_name = forms.CharField(label="Or a guest's name", max_length=120, required=False,
                                    help_text="Someone without a NETcare account.")
    discipline = forms.ChoiceField(label="Discipline", choices=Discipline.choices)
    virtual = forms.BooleanField(label="Attends by video", required=False)

    def __init__(self, *args, team: list, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._team = {str(user.external_id): user for user in team}
        self.fields["user"].choices = [("", "—")] + [
            (key, f"{user} ({user.get_role_display()})") for key, user in self._team.items()]

    def clean_user(self):
        key = self.cleaned_data["user"]
        return self._team.get(key) if key else None

    def clean(self):
        data = super().clean()
        if (data.get("user") is None) == (not (data.get("external_name") or "").strip()):
            self.add_error("user", "Choose a member of the team or name a guest, not both.")
        return data


class PatientSearchForm(forms.Form):
    query = forms.CharField(label="Find a patient of the centre", max_length=100,
                            help_text="The MRN, or part of the name.")


class CaseForm(forms.Form):
    patient = forms.ChoiceField(label="Patient", widget=forms.RadioSelect)
    question = forms.CharField(label="Question for the MDT", max_length=2000,
                               widget=forms.Textarea(attrs={"rows": 3}),
                               help_text="What the meeting is asked to decide.")

    def __init__(self, *args, patients: list, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._patients = {str(p.external_id): p for p in patients}
        self.fields["patient"].choices = [
            (key, f"{p.family_name}, {p.given_name} (MRN {p.mrn})")
            for key, p in self._patients.items()]

    def clean_patient(self):
        return self._patients[self.cleaned_data["patient"]]


class ReasonForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=1000,
                             widget=forms.Textarea(attrs={"rows": 2}))


class OutcomeForm(forms.Form):
    """The recommendation, its rationale, who took part, and up to ACTION_ROWS actions (a row
    left empty is no action)."""

    recommendation = forms.ChoiceField(label="Recommendation",
                                       choices=[("", "—"), *Recommendation.choices])
    rationale = forms.CharField(label="Rationale", max_length=4000,
                                widget=forms.Textarea(attrs={"rows": 4}))
    attendees = forms.MultipleChoiceField(label="Who took part in this discussion",
                                          widget=forms.CheckboxSelectMultiple)
    confirm = forms.BooleanField(label="I sign this outcome: it cannot be changed afterwards.")

    def __init__(self, *args, members: list[MdtMember], owners: list, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._members = {str(m.external_id): m for m in members}
        self.fields["attendees"].choices = [
            (key, f"{m.name} ({m.get_discipline_display()}{', by video' if m.virtual else ''})")
            for key, m in self._members.items()]
        self._owners = {str(user.external_id): user for user in owners}
        owner_choices = [(OwnerParty.CENTRE, "The NET centre's team"),
                         (OwnerParty.PRACTICE, "The referring oncologist's practice")] + [
            (key, str(user)) for key, user in self._owners.items()]
        for row in range(1, ACTION_ROWS + 1):
            self.fields[f"action_{row}_text"] = forms.CharField(
                label=f"Action {row}: what to do", max_length=500,
                required=False)
            self.fields[f"action_{row}_owner"] = forms.ChoiceField(
                label=f"Action {row}: owner", choices=owner_choices, required=False)
            self.fields[f"action_{row}_due"] = forms.DateField(
                label=f"Action {row}: due", required=False, widget=DATE_INPUT)

    def clean_attendees(self):
        return [self._members[key] for key in self.cleaned_data["attendees"]]

    @property
    def action_rows(self) -> list[tuple]:
        return [(self[f"action_{row}_text"], self[f"action_{row}_owner"],
                 self[f"action_{row}_due"]) for row in range(1, ACTION_ROWS + 1)]

    def clean(self):
        data = super().clean()
        actions = []
        for row in range(1, ACTION_ROWS + 1):
            text = (data.get(f"action_{row}_text") or "").strip()
            owner, due = data.get(f"action_{row}_owner"), data.get(f"action_{row}_due")
            if not text:
                continue
            if not owner:
                self.add_error(f"action_{row}_owner", "Choose who owns the action.")
            if due is None and f"action_{row}_due" not in self.errors:
                self.add_error(f"action_{row}_due", "Give the due day.")
            if not owner or due is None:
                continue
            user = self._owners.get(owner)
            actions.append({"row": row, "text": text, "due": due,
                            "owner_party": OwnerParty.USER if user else owner,
                            "owner_user": user})
        data["actions"] = actions
        return data


def default_starts_at() -> dt.datetime:
    """The next whole hour, for a new meeting's form."""
    return timezone.now().replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
