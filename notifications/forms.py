"""Forms of the Webhooks and Notifications pages."""

from __future__ import annotations

from django import forms

from .models import EventType
from .urlguard import MAX_URL_LENGTH

EVENT_CHOICES = EventType.choices


class EndpointForm(forms.Form):
    url = forms.CharField(
        label="Endpoint URL",
        max_length=MAX_URL_LENGTH,
        help_text="An https URL on the public internet, such as https://hooks.example.com/keyfence.",
        widget=forms.URLInput(attrs={"placeholder": "https://", "autocomplete": "off"}),
    )
    all_events = forms.BooleanField(label="All events, including those added later", required=False, initial=True)
    events = forms.MultipleChoiceField(
        label="Or only these events", choices=EVENT_CHOICES, required=False, widget=forms.CheckboxSelectMultiple
    )

    def clean(self) -> dict:
        data = super().clean() or {}
        if not data.get("all_events") and not data.get("events"):
            raise forms.ValidationError("Choose All events, or at least one event.")
        return data

    @property
    def chosen_events(self) -> list[str]:
        return ["*"] if self.cleaned_data.get("all_events") else list(self.cleaned_data["events"])


class NotificationForm(forms.Form):
    emailed = forms.MultipleChoiceField(
        label="E-mail me about", choices=EVENT_CHOICES, required=False, widget=forms.CheckboxSelectMultiple
    )
