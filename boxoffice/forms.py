from django import forms
from django.utils.translation import gettext_lazy as _

from boxoffice.services import MAX_BATCH_SIZE, MAX_INTERVAL_SECONDS


class AdmitNowForm(forms.Form):
    size = forms.IntegerField(label=_("Fans to admit"), min_value=1, max_value=MAX_BATCH_SIZE)


class SaleSettingsForm(forms.Form):
    batch_size = forms.IntegerField(label=_("Batch size"), min_value=1, max_value=MAX_BATCH_SIZE)
    interval_seconds = forms.IntegerField(
        label=_("Interval (seconds)"), min_value=1, max_value=MAX_INTERVAL_SECONDS
    )
