"""A label as PDF, drawn from the same placed label as the SVG (domain/labels.py): one page the
label's size, its millimetres scaled to points, y turned upwards.

Chinese text is set in STSong-Light, one of the Adobe-GB1 CID fonts PDF readers supply
themselves: the PDF names it and embeds nothing, so no font file is needed where it is made."""

from __future__ import annotations

import io
from functools import cache

from reportlab.lib.colors import HexColor
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from services.portal.domain.labels import Label

FONT = "STSong-Light"
BLUE, WHITE, BLACK = HexColor("#0b5cad"), HexColor("#ffffff"), HexColor("#000000")
LINE_COLOURS = {"name": HexColor("#1b1f24"), "emergency": HexColor("#cf222e"), "note": HexColor("#57606a")}
BOLD_ROLES = {"name", "emergency"}
CORNER = 3.0  # mm, as the SVG's rx


@cache
def _font() -> str:
    """Registered once, when the first PDF is drawn (its metrics are read then, not at import)."""
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def _text(canvas: Canvas, x: float, y: float, size: float, text: str, *, bold: bool) -> None:
    """Centred text; bold as the font has no bold face: its outline stroked too (render mode 2)."""
    canvas.setFont(_font(), size)
    canvas.setLineWidth(size * 0.04)
    canvas.drawCentredString(x, y, text, mode=2 if bold else 0)


def render(label: Label) -> bytes:
    box = label.box
    width, height = box.width, box.height
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=(width * mm, height * mm), initialFontName=_font(), pageCompression=1)
    canvas.setTitle(f"{label.title} · {label.name}")
    canvas.setCreator("safegrid portal")
    canvas.scale(mm, mm)  # from here on, millimetres
    canvas.setLineWidth(1)
    canvas.setStrokeColor(BLUE)
    canvas.setFillColor(WHITE)
    canvas.roundRect(0.5, 0.5, width - 1, height - 1, CORNER, stroke=1, fill=1)
    band = canvas.beginPath()  # the title band: rounded above, square below, as the SVG's path
    top, right, foot = height - 0.5, width - 0.5, height - box.band
    band.moveTo(0.5, foot)
    band.arcTo(0.5, top - 2 * CORNER, 0.5 + 2 * CORNER, top, startAng=180, extent=-90)
    band.arcTo(right - 2 * CORNER, top - 2 * CORNER, right, top, startAng=90, extent=-90)
    band.lineTo(right, foot)
    band.close()
    canvas.setFillColor(BLUE)
    canvas.drawPath(band, stroke=0, fill=1)
    canvas.setFillColor(WHITE)
    canvas.setStrokeColor(WHITE)
    _text(canvas, width / 2, height - box.band * 0.7, box.title_size, label.title, bold=True)
    code = canvas.beginPath()  # every module in one path, filled once: no seams between neighbours
    for x, y, w, h in label.modules:
        code.rect(x, height - y - h, w, h)
    canvas.setFillColor(BLACK)
    canvas.drawPath(code, stroke=0, fill=1)
    for line in label.lines:
        colour = LINE_COLOURS[line.role]
        canvas.setFillColor(colour)
        canvas.setStrokeColor(colour)
        _text(canvas, width / 2, height - line.y, line.size, line.text, bold=line.role in BOLD_ROLES)
    canvas.showPage()
    canvas.save()
    return out.getvalue()
