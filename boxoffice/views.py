"""The live on-sale dashboard: staff only; controls need the right to change events."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from boxoffice import services
from boxoffice.forms import AdmitNowForm, SaleSettingsForm
from boxoffice.models import SaleControlAction
from boxoffice.selectors import Dashboard, sale_dashboard, sale_samples, sample_seconds
from core.exceptions import ApplicationError
from events.models import Event

CONTROLS = {
    "pause": _("Pause admission"),
    "resume": _("Resume admission"),
    "admit": _("Admit a batch now"),
    "settings": _("Change batch size and interval"),
}


def _event_for(request: HttpRequest, event_id: int, *, change: bool = False) -> Event:
    permission = "events.change_event" if change else "events.view_event"
    if not request.user.has_perm(permission):
        raise PermissionDenied
    return get_object_or_404(Event, pk=event_id)


def _figures(event: Event) -> Dashboard:
    dashboard = sale_dashboard(event=event)
    # Charts get a sample from this read when the beat job has not just taken one (no second read).
    services.sale_sample_record(event=event, dashboard=dashboard)
    return dashboard


@never_cache
@staff_member_required
@require_GET
def dashboard(request: HttpRequest, event_id: int) -> HttpResponse:
    event = _event_for(request, event_id)
    context = {
        "event": event,
        "dashboard": _figures(event),
        "can_control": request.user.has_perm("events.change_event"),
        "actions": SaleControlAction.objects.filter(event=event).select_related("actor")[:8],
        "admit_form": AdmitNowForm(initial={"size": event.admission_batch_size}),
        "settings_form": SaleSettingsForm(
            initial={
                "batch_size": event.admission_batch_size,
                "interval_seconds": event.admission_interval_seconds,
            }
        ),
        "title": _("Box office: %(event)s") % {"event": event.name},
    }
    return render(request, "boxoffice/dashboard.html", context)


@never_cache
@staff_member_required
@require_GET
def dashboard_figures(request: HttpRequest, event_id: int) -> HttpResponse:
    """The figures panel, polled by htmx every few seconds."""
    event = _event_for(request, event_id)
    return render(request, "boxoffice/_figures.html", {"event": event, "dashboard": _figures(event)})


@never_cache
@staff_member_required
@require_GET
def dashboard_history(request: HttpRequest, event_id: int) -> JsonResponse:
    """The last hour of samples as columns (uPlot's data shape), oldest first."""
    event = _event_for(request, event_id)
    samples = sale_samples(event=event)
    columns = ("t", "waiting", "prequeue", "admitted_now", "joins_total", "admitted_total", "seats_sold")
    data = {name: [getattr(sample, name) for sample in samples] for name in columns}
    data["seats_held"] = [sample.seats_held for sample in samples]
    data["net_minor"] = [sample.net_minor for sample in samples]
    return JsonResponse({"sample_seconds": sample_seconds(), "series": data})


@staff_member_required
@require_http_methods(["POST"])
def dashboard_control(request: HttpRequest, event_id: int, control: str) -> HttpResponse:
    """Every control asks first: the first POST shows what will happen, the second (confirm=yes) does it."""
    if control not in CONTROLS:
        raise Http404
    event = _event_for(request, event_id, change=True)
    form: AdmitNowForm | SaleSettingsForm | None = None
    if control == "admit":
        form = AdmitNowForm(request.POST)
    elif control == "settings":
        form = SaleSettingsForm(request.POST)
    back = reverse("boxoffice:dashboard", args=[event.pk])
    if form is not None and not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    if request.POST.get("confirm") != "yes":
        return render(
            request,
            "boxoffice/confirm.html",
            {
                "event": event,
                "control": control,
                "control_label": CONTROLS[control],
                "values": form.cleaned_data if form is not None else {},
                "title": _("Confirm: %(control)s") % {"control": CONTROLS[control]},
                "back": back,
            },
        )
    try:
        result = _run(control, event=event, actor=request.user, data=form.cleaned_data if form else {})
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        (messages.success if result.level == "success" else messages.warning)(request, result.message)
    return redirect(back)


def _run(control: str, *, event: Event, actor, data: dict) -> services.ControlResult:
    if control == "pause":
        return services.sale_pause(event=event, actor=actor)
    if control == "resume":
        return services.sale_resume(event=event, actor=actor)
    if control == "admit":
        return services.sale_admit_now(event=event, actor=actor, size=data["size"])
    return services.sale_settings_change(
        event=event, actor=actor, batch_size=data["batch_size"], interval_seconds=data["interval_seconds"]
    )
