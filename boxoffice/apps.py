from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BoxofficeConfig(AppConfig):
    """The staff's live view of an on-sale: figures, charts, controls and their audit trail."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "boxoffice"
    verbose_name = _("Box office")
