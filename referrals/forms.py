from __future__ import annotations

from django import forms

from netcare.models import Centre
from referrals.models import Referral


class ReferralForm(forms.ModelForm):
    centre = forms.ModelChoiceField(
        label="NET specialist centre",
        queryset=Centre.objects.filter(kind=Centre.Kind.SPECIALIST_CENTRE),
        empty_label=None,
    )

    class Meta:
        model = Referral
        fields = ["centre", "urgency", "question", "history"]
        widgets = {"question": forms.Textarea(attrs={"rows": 3}),
                   "history": forms.Textarea(attrs={"rows": 4})}


class TransitionForm(forms.Form):
    reason = forms.CharField(label="Reason or message", required=False,
                             widget=forms.Textarea(attrs={"rows": 3}))
    consult_at = forms.DateTimeField(label="Consult date and time", required=False,
                                     widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))


class NoteForm(forms.Form):
    body = forms.CharField(label="Message", widget=forms.Textarea(attrs={"rows": 3}))


class ReferralDraftForm(forms.ModelForm):
    """The referral's own part of a draft being changed (its centre stays: the patient's record
    is kept there)."""

    class Meta:
        model = Referral
        fields = ["urgency", "question", "history"]
        widgets = {"question": forms.Textarea(attrs={"rows": 3}),
                   "history": forms.Textarea(attrs={"rows": 4})}
