"""Tickets (one per seat of a confirmed booking, unique codes, voided on refund and cancellation) and the
QR images that carry their codes."""

from __future__ import annotations

import struct
import zlib

import pytest
from django.db import IntegrityError, transaction

from bookings.models import Ticket
from bookings.services import booking_cancel, booking_confirm_paid, booking_mark_refunded, tickets_issue
from core.exceptions import Conflict
from payments.qr import qr_matrix, qr_png, qr_svg_data_uri

pytestmark = pytest.mark.django_db


def test_a_confirmed_booking_gets_one_ticket_per_seat_once(pending_booking, seats):
    booking_confirm_paid(booking=pending_booking)

    first = tickets_issue(booking=pending_booking)
    again = tickets_issue(booking=pending_booking)

    assert [t.item.seat_id for t in first] == [seats[0].pk, seats[5].pk]
    assert [t.pk for t in again] == [t.pk for t in first]
    assert len({t.code for t in first}) == 2
    assert all(len(t.code) >= 16 for t in first)


def test_tickets_are_only_issued_for_confirmed_bookings(pending_booking):
    with pytest.raises(Conflict):
        tickets_issue(booking=pending_booking)
    assert not Ticket.objects.exists()


def test_the_database_refuses_a_second_valid_ticket_for_a_seat_and_a_repeated_code(pending_booking):
    booking_confirm_paid(booking=pending_booking)
    [ticket, other] = tickets_issue(booking=pending_booking)

    with pytest.raises(IntegrityError), transaction.atomic():
        Ticket.objects.create(booking=pending_booking, item=ticket.item, code="another-code-123")
    with pytest.raises(IntegrityError), transaction.atomic():
        Ticket.objects.filter(pk=other.pk).update(code=ticket.code)


@pytest.mark.parametrize("end", ["refund", "staff_cancel"])
def test_refunding_or_cancelling_voids_the_tickets(pending_booking, end):
    booking_confirm_paid(booking=pending_booking)
    tickets_issue(booking=pending_booking)

    if end == "refund":
        booking_mark_refunded(booking=pending_booking)
    else:
        booking_cancel(booking=pending_booking, by_staff=True)

    assert not Ticket.objects.filter(voided_at__isnull=True).exists()
    assert Ticket.objects.count() == 2


def _png_pixels(png: bytes) -> tuple[int, int, bytes]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks = 8, {}
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        kind = png[position + 4 : position + 8]
        body = png[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", png[position + 8 + length : position + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        chunks[kind] = body
        position += 12 + length
    width, height, depth, colour_type = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour_type) == (8, 0)
    return width, height, zlib.decompress(chunks[b"IDAT"])


def test_the_png_qr_code_draws_exactly_the_qr_modules():
    matrix = qr_matrix("TICKET-abc123")
    width, height, raw = _png_pixels(qr_png("TICKET-abc123", scale=3))

    assert width == height == len(matrix) * 3
    stride = width + 1  # a filter byte per scanline
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            pixel = raw[(y * 3) * stride + 1 + x * 3]
            assert pixel == (0 if dark else 255)


def test_the_svg_qr_code_is_a_data_uri_image():
    uri = qr_svg_data_uri("TICKET-abc123")
    assert uri.startswith("data:image/svg+xml;base64,")
