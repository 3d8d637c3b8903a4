"""Printable labels (一企一码 / 风险防控码) a bureau posts on a door or a lift: the code, the unit's
(or the equipment's) name, a line saying what scanning shows, and 96333 for lifts, laid out in
millimetres for an A6 card or a sticker. Pure: the code's modules come in as a matrix, and
``compose`` places everything once, so the SVG and the PDF draw one geometry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

SIZES_MM: dict[str, tuple[float, float]] = {"a6": (105.0, 148.0), "sticker": (60.0, 80.0)}
QUIET_MODULES = 4  # the light margin a QR code needs around it (ISO/IEC 18004), in modules


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


@dataclass(frozen=True)
class Label:
    """One label, placed: what the SVG and the PDF both draw (millimetres, y downwards)."""

    box: Layout
    title: str
    name: str
    lines: list[Line]
    modules: list[tuple[float, float, float, float]]  # the code's dark modules: x, y, width, height


def compose(size: str, title: str, name: str, names: Sequence[str], notes: Sequence[str], emergency: str | None,
            matrix: Sequence[Sequence[int]]) -> Label:
    """The label of ``size``: the code's matrix scaled into its square with the quiet zone
    inside it, the text placed under it."""
    box = layout(size)
    module = box.code_size / (len(matrix) + 2 * QUIET_MODULES)
    origin_x, origin_y = box.code_x + QUIET_MODULES * module, box.code_y + QUIET_MODULES * module
    modules = [(origin_x + col * module, origin_y + row * module, length * module, module)
               for row, col, length in module_runs(matrix)]
    return Label(box=box, title=title, name=name, lines=place(box, names, notes, emergency), modules=modules)


def module_runs(matrix: Sequence[Sequence[int]]) -> list[tuple[int, int, int]]:
    """The dark modules as (row, first column, length): a row's neighbours merged, so a code of
    a thousand modules is drawn as a few hundred rectangles."""
    runs = []
    for row, cells in enumerate(matrix):
        col = 0
        while col < len(cells):
            if cells[col]:
                start = col
                while col < len(cells) and cells[col]:
                    col += 1
                runs.append((row, start, col - start))
            else:
                col += 1
    return runs


def modules_path(label: Label) -> str:
    """The code's dark modules as one SVG path."""
    return "".join(f"M{x:.3f} {y:.3f}h{w:.3f}v{h:.3f}h-{w:.3f}z" for x, y, w, h in label.modules)


def wrap(text: str, per_line: int, lines: int = 2) -> list[str]:
    """Chinese text in lines of ``per_line`` characters (no spaces to break at), the last cut with …."""
    chunks = [text[i:i + per_line] for i in range(0, len(text), per_line)] or [""]
    if len(chunks) > lines:
        chunks = chunks[:lines]
        chunks[-1] = chunks[-1][:-1] + "…"
    return chunks
