"""Forms of the network pages: the e-consult, its answer, NET contacts, bulletins."""

from __future__ import annotations

import datetime as dt

from django import forms

from netcare.models import Centre, Role, User
from network.econsult import summary_errors
from network.models import Bulletin, EConsult, NetContact

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
YES_NO = [("no", "No"), ("yes", "Yes")]


class EConsultForm(forms.ModelForm):
    """The question and the key data: tumour site, grade and Ki-67, SSTR imaging (yes or no,
    its date), the current SSA and recent labs (free text)."""

    centre = forms.ModelChoiceField(
        label="NET specialist centre", empty_label=None,
        queryset=Centre.objects.filter(kind=Centre.Kind.SPECIALIST_CENTRE).order_by("name"),
        help_text="Its NET contact answers here in NETcare.")
    sstr_imaging = forms.TypedChoiceField(
        label="SSTR imaging done", choices=YES_NO, coerce=lambda value: value == "yes",
        widget=forms.RadioSelect, initial="no",
        help_text="A somatostatin-receptor PET or scintigraphy.")

    class Meta:
        model = EConsult
        fields = ["centre", "question", "primary_site", "grade", "ki67_percent", "sstr_imaging",
                  "sstr_modality", "sstr_imaging_on", "sstr_positive", "current_ssa", "labs_on",
                  "labs"]
        widgets = {"question": forms.Textarea(attrs={"rows": 4}),
                   "labs": forms.Textarea(attrs={"rows": 3}),
                   "sstr_imaging_on": DATE_INPUT, "labs_on": DATE_INPUT,
                   "sstr_positive": forms.NullBooleanSelect()}

    def __init__(self, *args, today: dt.date, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["sstr_modality"].help_text = "If done: which scan."

    def clean(self):
        data = super().clean()
        for field, message in summary_errors(data, today=self.today).items():
            if field in self.fields and field not in self.errors:
                self.add_error(field, message)
        return data

    def summary(self) -> dict:
        """The cleaned summary, as network.econsult.econsult_ask takes it."""
        return {name: value for name, value in self.cleaned_data.items() if name != "centre"}


class AnswerForm(forms.Form):
    answer = forms.CharField(label="Your answer", widget=forms.Textarea(attrs={"rows": 6}),
                             max_length=10_000,
                             help_text="The referring oncologist is notified at once.")


class ReasonForm(forms.Form):
    reason = forms.CharField(label="Note (optional)", required=False, max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 2}))


class NetContactForm(forms.ModelForm):
    """A NET contact or navigator: a member of the team, or a name for someone without an
    account; how referring oncologists reach them."""

    class Meta:
        model = NetContact
        fields = ["user", "name", "kind", "title", "phone", "email", "order", "active"]

    def __init__(self, *args, centre: Centre, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = (User.objects.filter(
            centre=centre, is_active=True, role__in=[Role.SPECIALIST, Role.NAVIGATOR])
            .order_by("last_name", "first_name", "pk"))
        self.fields["user"].label = "Member of the team"
        self.fields["user"].empty_label = "Someone without a NETcare account"

    def _post_clean(self):
        # The service checks the contact as a whole (network.contacts._check_contact).
        pass


class NetworkPracticeForm(forms.Form):
    practice = forms.ModelChoiceField(
        label="Referring practice",
        queryset=Centre.objects.filter(kind=Centre.Kind.REFERRING_PRACTICE).order_by("name"))


class BulletinForm(forms.ModelForm):
    class Meta:
        model = Bulletin
        fields = ["kind", "title", "body", "ends_on"]
        widgets = {"body": forms.Textarea(attrs={"rows": 10}), "ends_on": DATE_INPUT}


class SubscriptionForm(forms.Form):
    by_email = forms.BooleanField(label="Email me each new bulletin", required=False)
