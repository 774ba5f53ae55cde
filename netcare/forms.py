from django import forms


class OtpCodeForm(forms.Form):
    """A code from the authenticator app (six digits) or one backup code."""

    code = forms.CharField(
        label="Code", max_length=32, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True,
                                      "spellcheck": "false", "autocapitalize": "none"}))
