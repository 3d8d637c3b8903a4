"""Printable labels (一企一码 / 风险防控码) a bureau posts on a door or a lift: the code, the unit's
(or the equipment's) name, a line saying what scanning shows, and 96333 for lifts, laid out in
millimetres for an A6 card or a sticker. Pure: the code's modules come in as a matrix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

SIZES_MM: dict[str, tuple[float, float]] = {"a6": (105.0, 148.0), "sticker": (60.0, 80.0)}


@dataclass(frozen=True)
class Layout:
    width: float
    height: float
    margin: float
    band: float  # the title band's height
    code_x: float
    code_y: float
    code_size: float
    title_size: float


@dataclass(frozen=True)
class Line:
    y: float
    size: float
    text: str
    role: str  # name, note, emergency


def layout(size: str) -> Layout:
    width, height = SIZES_MM[size]
    margin, band = width * 0.07, height * 0.1
    code = min(width - 2 * margin, height * 0.48)
    return Layout(width=width, height=height, margin=margin, band=band, code_x=(width - code) / 2,
                  code_y=band + margin * 0.6, code_size=code, title_size=band * 0.55)


def place(box: Layout, names: Sequence[str], notes: Sequence[str], emergency: str | None) -> list[Line]:
    """Baselines for the text under the code, the emergency line at the foot, every font shrunk
    alike (to no less than 55%) until it all fits; notes are left out before anything overlaps."""
    top, bottom = box.code_y + box.code_size, box.height - box.margin
    name_size, note_size = box.width * 0.068, box.width * 0.045
    foot = name_size * 1.5 if emergency else 0.0
    for scale in (1.0, 0.9, 0.8, 0.7, 0.62, 0.55):
        needed = (len(names) * name_size * 1.3 + len(notes) * note_size * 1.35) * scale + foot * scale
        if top + needed + name_size * 0.3 <= bottom:
            break
    else:
        notes, scale = (), 0.55
    lines, y = [], top + name_size * 0.3
    for text in names:
        y += name_size * 1.3 * scale
        lines.append(Line(y, name_size * scale, text, "name"))
    for text in notes:
        y += note_size * 1.35 * scale
        lines.append(Line(y, note_size * scale, text, "note"))
    if emergency:
        lines.append(Line(bottom, name_size * scale * 0.95, f"电梯困人请拨 {emergency}", "emergency"))
    return lines


def modules_path(matrix: Sequence[Sequence[int]], origin_x: float, origin_y: float, module: float) -> str:
    """The dark modules as one SVG path, a row's neighbours merged into one rectangle each."""
    parts = []
    for row, cells in enumerate(matrix):
        col = 0
        while col < len(cells):
            if cells[col]:
                start = col
                while col < len(cells) and cells[col]:
                    col += 1
                x, y, run = origin_x + start * module, origin_y + row * module, (col - start) * module
                parts.append(f"M{x:.3f} {y:.3f}h{run:.3f}v{module:.3f}h-{run:.3f}z")
            else:
                col += 1
    return "".join(parts)


def wrap(text: str, per_line: int, lines: int = 2) -> list[str]:
    """Chinese text in lines of ``per_line`` characters (no spaces to break at), the last cut with …."""
    chunks = [text[i:i + per_line] for i in range(0, len(text), per_line)] or [""]
    if len(chunks) > lines:
        chunks = chunks[:lines]
        chunks[-1] = chunks[-1][:-1] + "…"
    return chunks
