from celery import shared_task

from boxoffice.services import sales_sample_live
from queueing.selectors import events_with_live_queue, events_with_running_sale


@shared_task(ignore_result=True)
def sample_live_sales() -> int:
    """One chart sample per live sale, so the dashboard's hour of history exists when nobody watched."""
    events = {event.pk: event for event in events_with_running_sale()}
    events.update({event.pk: event for event in events_with_live_queue()})
    return sales_sample_live(events=events.values())
