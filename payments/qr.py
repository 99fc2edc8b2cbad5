"""QR codes of ticket codes: SVG for pages (a data URI, no markup injected) and PNG for e-mails.

PNG is encoded here from the QR matrix (zlib + the three PNG chunks): qrcode's own PNG writers need
Pillow or pypng, which the project does not otherwise use.
"""

from __future__ import annotations

import base64
import struct
import zlib

import qrcode
import qrcode.constants
from qrcode.image.svg import SvgPathImage

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BORDER_MODULES = 4


def qr_matrix(data: str) -> list[list[bool]]:
    """The QR modules (True = dark), quiet zone included."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=BORDER_MODULES)
    code.add_data(data)
    code.make(fit=True)
    return code.get_matrix()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return (
        struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    )


def qr_png(data: str, *, scale: int = 8) -> bytes:
    """An 8-bit greyscale PNG, ``scale`` pixels per module."""
    matrix = qr_matrix(data)
    size = len(matrix) * scale
    scanlines = []
    for row in matrix:
        pixels = bytes(0 if dark else 255 for dark in row for _ in range(scale))
        scanlines.extend([b"\x00" + pixels] * scale)  # filter type 0 (none) per scanline
    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"".join(scanlines), 9))
        + _png_chunk(b"IEND", b"")
    )


def qr_svg(data: str) -> str:
    image = qrcode.make(
        data,
        image_factory=SvgPathImage,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        border=BORDER_MODULES,
    )
    return image.to_string(encoding="unicode")


def qr_svg_data_uri(data: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(qr_svg(data).encode()).decode("ascii")
