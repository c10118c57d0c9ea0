"""Postcards (はがき) and address labels as PDF: pure layout, no database.

Input is a list of plain `Postcard` values; output is PDF bytes (ReportLab, IPAex fonts from Debian's
fonts-ipaexfont: TrueType outlines, which ReportLab embeds as subsets; the Noto CJK collections Debian
ships are CFF/OpenType, which ReportLab cannot embed).

Cards are 官製はがき size, 100 × 148 mm portrait. `sides="both"` (the default) gives two pages per card,
address side (宛名面) then message side (通信面), card after card: what a duplex printer (flip on the
long edge) or a print shop expects for A6 cards. `sides="address"` gives one page per card, for cards
whose message side is pre-printed.

Address side, vertical (縦書き, the default): the seven 〒 boxes at Japan Post's standard position (top
right, 12 mm from the top), the address in columns from the right, the name with 様 large in the centre
column, the return address (差出人) in the lower left with its own seven small boxes. Horizontal
(横書き): the same boxes, the address and name in lines. Vertical limits, kept on purpose: every
character takes one cell (no 縦中横 for two-digit numbers, digits and Latin letters are set upright as
their full-width forms), long-vowel marks, dashes, tildes, ellipses and brackets are turned 90°,
、。 and small kana move to the upper right of their cell; a space in the address starts a new
column (the building name goes below the street, as written by hand); no other OpenType `vert`
alternates are used.

Every string drawn is a run of the customer's own characters (or their full-width forms), so the text
a PDF reader extracts is the address (up to NFKC width folding); tests rebuild the vertical columns
from the glyph positions and compare.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

CARD_SIZE = (100 * mm, 148 * mm)  # 官製はがき
FONT_FILES = {
    "KizunaMincho": Path("/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf"),
    "KizunaGothic": Path("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"),
}
MINCHO, GOTHIC = "KizunaMincho", "KizunaGothic"
HONORIFIC = "様"
POSTAL_MARK = "〒"

# Recipient 〒 boxes (Japan Post's standard for postcards): top edge 12 mm from the top, 8 mm high,
# 5.7 mm wide; left edges of the seven boxes in mm from the card's left edge.
POSTAL_BOX_TOP = 12 * mm
POSTAL_BOX_SIZE = (5.7 * mm, 8 * mm)
POSTAL_BOX_LEFT = (44.0, 51.0, 58.0, 65.8, 72.6, 79.4, 86.2)
# Return-address boxes (差出人): small, bottom left.
SENDER_BOX_BOTTOM = 8 * mm
SENDER_BOX_SIZE = (4 * mm, 5.5 * mm)
SENDER_BOX_LEFT = (5.0, 9.5, 14.0, 19.0, 23.5, 28.0, 32.5)

# Characters turned 90° in vertical text, and those set into the upper right of their cell.
ROTATED = set("ー－-‐‑–—―〜～~…‥=＝()（）[]［］{}｛｝「」『』【】〔〕〈〉《》<>＜＞:：;；|｜→←")
UPPER_RIGHT_PUNCT = set("、。，．,.")
SMALL_KANA = set("ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ")

MESSAGE_MARGIN = 8 * mm
MESSAGE_FONT_SIZES = (10.5, 10, 9.5, 9, 8.5, 8, 7.5, 7)  # the largest size at which the message fits
LINE_SPACING = 1.45
NO_LINE_START = set("、。，．,.)）」』】〕〉》ー～ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ！？!?・:：;；")


@dataclass(frozen=True)
class Sender:
    """The shop's return address (差出人)."""

    name: str
    postal_code: str = ""
    address: str = ""
    phone: str = ""


@dataclass(frozen=True)
class Postcard:
    """One card: the recipient as printed, and the message side's text (already rendered)."""

    postal_code: str  # "123-4567"
    address_lines: tuple[str, ...]  # e.g. ("東京都渋谷区神宮前1-2-3", "絆ビル3F")
    name: str  # without 様
    sender: Sender
    message_title: str = ""
    message: str = ""


@dataclass(frozen=True)
class LabelSheet:
    """An A4 sheet of address labels (mm)."""

    columns: int
    rows: int
    width: float
    height: float
    left: float
    top: float
    gap_x: float = 0.0
    gap_y: float = 0.0

    @property
    def per_sheet(self) -> int:
        return self.columns * self.rows


# The common Japanese A4 label sheets (12面 86.4 × 42.3 mm, 24面 70 × 33.9 mm); check a brand's sheet
# before a big run. Text stays 4 mm inside each label, so a printer's unprintable edge does not cut it.
LABEL_SHEETS = {
    12: LabelSheet(columns=2, rows=6, width=86.4, height=42.3, left=18.6, top=21.6),
    24: LabelSheet(columns=3, rows=8, width=70.0, height=33.9, left=0.0, top=12.9),
}
LABEL_PADDING = 4 * mm


ADDRESS_FONT_SIZES = (12.0, 11.0, 10.0, 9.0)
ADDRESS_ROOM = 78 * mm  # column height of the vertical address
ADDRESS_MAX_COLUMNS = 5


class AddressTooLong(ValueError):
    """The address does not fit in the vertical address columns even at the smallest size."""


class MessageTooLong(ValueError):
    """The message side does not fit on a card even at the smallest font size."""


@lru_cache(maxsize=1)
def register_fonts() -> None:
    for name, path in FONT_FILES.items():
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} is missing: install Debian's fonts-ipaexfont (apt-get install fonts-ipaexfont)"
            )
        pdfmetrics.registerFont(TTFont(name, str(path)))


def postal_digits(postal_code: str) -> str:
    """The seven digits of a 〒 code ("123-4567" → "1234567"); "" when it is not seven digits."""
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", postal_code or "") if ch.isdigit())
    compact = unicodedata.normalize("NFKC", postal_code or "").replace("-", "").replace(" ", "")
    return digits if len(digits) == 7 and compact == digits else ""


def formatted_postal_code(postal_code: str) -> str:
    digits = postal_digits(postal_code)
    return f"{digits[:3]}-{digits[3:]}" if digits else ""


def _canvas(buffer: io.BytesIO, pagesize) -> Canvas:
    register_fonts()
    # invariant: no creation date or random document id, so the same batch prints to the same bytes.
    canvas = Canvas(buffer, pagesize=pagesize, invariant=1, pageCompression=1)
    canvas.setTitle("Kizuna postcards")
    canvas.setCreator("Kizuna")
    return canvas


# --- vertical text -----------------------------------------------------------------------------------
def _full_width(ch: str) -> str:
    """ASCII letters and digits are set upright as their full-width forms in vertical text."""
    if "!" <= ch <= "~" and ch.isalnum():
        return chr(ord(ch) + 0xFEE0)
    if ch == "-":
        return "－"
    return ch


def _draw_vertical(canvas: Canvas, text: str, *, x: float, top: float, size: float, font: str) -> float:
    """Draw `text` as one column centred on x, from `top` down; returns the y below the last cell."""
    y = top
    for raw in text:
        ch = _full_width(raw)
        width = pdfmetrics.stringWidth(ch, font, size)
        canvas.setFont(font, size)
        baseline = y - size * 0.88
        if raw in ROTATED or ch in ROTATED:
            canvas.saveState()
            # Turned clockwise about the cell's centre.
            canvas.translate(x, y - size / 2)
            canvas.rotate(-90)
            canvas.drawString(-width / 2, -size * 0.38, ch)
            canvas.restoreState()
        elif ch in UPPER_RIGHT_PUNCT:
            canvas.drawString(x - width / 2 + size * 0.55, baseline + size * 0.55, ch)
        elif ch in SMALL_KANA:
            canvas.drawString(x - width / 2 + size * 0.1, baseline + size * 0.1, ch)
        else:
            canvas.drawString(x - width / 2, baseline, ch)
        y -= size
    return y


def _columns(lines: Iterable[str], per_column: int) -> list[tuple[str, bool]]:
    """Split address lines into columns of at most `per_column` cells; (text, continues a line)."""
    columns: list[tuple[str, bool]] = []
    for line in lines:
        for part in line.split():
            for start in range(0, len(part), per_column):
                columns.append((part[start : start + per_column], start > 0))
    return columns


def address_parts(lines: Sequence[str]) -> list[str]:
    """The address as the runs of characters it is printed in (spaces start a new column/line)."""
    return [part for line in lines for part in line.split()]


# --- the address side ------------------------------------------------------------------------------
def _postal_boxes(
    canvas: Canvas, digits: str, *, lefts, top_from_bottom: float, box, size: float, draw_boxes: bool
) -> None:
    width, height = box
    canvas.setLineWidth(0.6)
    canvas.setStrokeColorRGB(0.85, 0.15, 0.15)  # the vermilion of the printed boxes
    for i, left_mm in enumerate(lefts):
        left = left_mm * mm
        if draw_boxes:
            canvas.rect(left, top_from_bottom - height, width, height, stroke=1, fill=0)
        if digits:
            canvas.setFont(GOTHIC, size)
            text_width = pdfmetrics.stringWidth(digits[i], GOTHIC, size)
            canvas.drawString(left + (width - text_width) / 2, top_from_bottom - height * 0.78, digits[i])
    if draw_boxes:
        # The short bar between the third and fourth box.
        bar_y = top_from_bottom - height / 2
        canvas.line((lefts[2] * mm) + width + 0.5 * mm, bar_y, lefts[3] * mm - 0.5 * mm, bar_y)
    canvas.setStrokeColorRGB(0, 0, 0)


def _recipient_boxes(canvas: Canvas, card: Postcard, *, draw_boxes: bool) -> None:
    _, page_h = CARD_SIZE
    top = page_h - POSTAL_BOX_TOP
    _postal_boxes(
        canvas,
        postal_digits(card.postal_code),
        lefts=POSTAL_BOX_LEFT,
        top_from_bottom=top,
        box=POSTAL_BOX_SIZE,
        size=14,
        draw_boxes=draw_boxes,
    )
    # The 〒 mark left of the boxes (the area left of it is the stamp's).
    canvas.setFont(GOTHIC, 9)
    canvas.drawString(POSTAL_BOX_LEFT[0] * mm - 4.2 * mm, top - 6 * mm, POSTAL_MARK)


def _sender_boxes(canvas: Canvas, sender: Sender, *, draw_boxes: bool) -> None:
    _postal_boxes(
        canvas,
        postal_digits(sender.postal_code),
        lefts=SENDER_BOX_LEFT,
        top_from_bottom=SENDER_BOX_BOTTOM + SENDER_BOX_SIZE[1],
        box=SENDER_BOX_SIZE,
        size=9,
        draw_boxes=draw_boxes,
    )


def _fit_size(longest: int, room: float, largest: float, smallest: float) -> float:
    return max(smallest, min(largest, room / max(longest, 1)))


def vertical_address_layout(lines: Sequence[str]) -> tuple[float, list[tuple[str, bool]]]:
    """(font size, columns) of a vertical address: the largest size at which it fits in five columns."""
    for size in ADDRESS_FONT_SIZES:
        columns = _columns(lines, int(ADDRESS_ROOM // size))
        if len(columns) <= ADDRESS_MAX_COLUMNS:
            return size, columns
    raise AddressTooLong(" ".join(lines)[:40])


NAME_ROOM = 100 * mm
NAME_SIZES = (22, 12)  # largest, smallest


def check_fits(card: Postcard) -> None:
    """Raise AddressTooLong / MessageTooLong when the card cannot be printed without cutting text."""
    vertical_address_layout(card.address_lines)
    if (len(card.name) + 2) * NAME_SIZES[1] > NAME_ROOM:
        raise AddressTooLong(card.name[:40])
    message_layout(card)


def draw_address_vertical(canvas: Canvas, card: Postcard, *, draw_boxes: bool = True) -> None:
    _, page_h = CARD_SIZE
    _recipient_boxes(canvas, card, draw_boxes=draw_boxes)
    # Address: columns from the right edge, from 26 mm below the top; the name's column is left of
    # them, the return address takes the lower left.
    top = page_h - 26 * mm
    size, columns = vertical_address_layout(card.address_lines)
    x = 89 * mm
    for i, (text, continued) in enumerate(columns):
        # A continued line and the building name start lower, as written by hand.
        start = top - (2 * size if continued or i > 0 else 0)
        _draw_vertical(canvas, text, x=x, top=start, size=size, font=MINCHO)
        x -= size * 1.35
    # Name with 様, large, in the centre column; shrunk to fit long names.
    name = card.name.replace(" ", "　")
    name_size = _fit_size(len(name) + 2, NAME_ROOM, *NAME_SIZES)
    name_x = min(x - 6 * mm, 52 * mm)
    _draw_vertical(
        canvas, f"{name}　{HONORIFIC}", x=name_x, top=page_h - 28 * mm, size=name_size, font=MINCHO
    )
    _draw_sender_vertical(canvas, card.sender, draw_boxes=draw_boxes)


def _draw_sender_vertical(canvas: Canvas, sender: Sender, *, draw_boxes: bool) -> None:
    _sender_boxes(canvas, sender, draw_boxes=draw_boxes)
    top = 78 * mm
    room = top - (SENDER_BOX_BOTTOM + SENDER_BOX_SIZE[1] + 3 * mm)
    # The shop's address in at most three columns; a longer one is cut (it is the shop's own setting).
    size = next((s for s in (8.0, 7.0, 6.0) if len(_columns([sender.address], int(room // s))) <= 3), 6.0)
    parts = _columns([sender.address], int(room // size))
    x = 34 * mm
    for text, _continued in parts[:3]:
        _draw_vertical(canvas, text, x=x, top=top, size=size, font=MINCHO)
        x -= size * 1.3
    if sender.phone:
        _draw_vertical(canvas, sender.phone, x=x, top=top, size=size, font=MINCHO)
        x -= size * 1.3
    name_size = _fit_size(len(sender.name), room, 11, 7)
    _draw_vertical(canvas, sender.name, x=x - 1 * mm, top=top, size=name_size, font=MINCHO)


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Greedy wrapping by glyph width; a line never starts with closing punctuation (simple 禁則)."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for ch in paragraph:
            if line and pdfmetrics.stringWidth(line + ch, font, size) > width and ch not in NO_LINE_START:
                if ch == " ":
                    lines.append(line)
                    line = ""
                    continue
                # Latin words wrap at their last space when there is one.
                head, sep, tail = line.rpartition(" ")
                if sep and head and not ch.isspace() and ch.isascii():
                    lines.append(head)
                    line = tail + ch
                    continue
                lines.append(line)
                line = ch
                continue
            line += ch
        lines.append(line)
    return lines


def _draw_lines(canvas: Canvas, lines: list[str], *, x: float, top: float, size: float, font: str) -> float:
    """Draw lines from `top` down; returns the top of the space below them."""
    canvas.setFont(font, size)
    for i, line in enumerate(lines):
        canvas.drawString(x, top - size - i * size * LINE_SPACING, line)
    return top - len(lines) * size * LINE_SPACING


def draw_address_horizontal(canvas: Canvas, card: Postcard, *, draw_boxes: bool = True) -> None:
    page_w, page_h = CARD_SIZE
    _recipient_boxes(canvas, card, draw_boxes=draw_boxes)
    left = 14 * mm
    width = page_w - left - 8 * mm
    y = page_h - 30 * mm
    formatted = formatted_postal_code(card.postal_code)
    y = _draw_lines(canvas, [f"{POSTAL_MARK}{formatted}"], x=left, top=y, size=10, font=GOTHIC)
    lines = [
        wrapped for part in address_parts(card.address_lines) for wrapped in _wrap(part, MINCHO, 12, width)
    ]
    y = _draw_lines(canvas, lines, x=left, top=y - 2 * mm, size=12, font=MINCHO)
    name = f"{card.name}　{HONORIFIC}"
    name_size = _fit_size(len(name), width, 20, 11)
    canvas.setFont(MINCHO, name_size)
    canvas.drawCentredString(page_w / 2, y - 14 * mm, name)
    sender = card.sender
    _sender_boxes(canvas, sender, draw_boxes=draw_boxes)
    sender_lines = [sender.name, *_wrap(sender.address, MINCHO, 8, 60 * mm), sender.phone]
    sender_lines = [line for line in sender_lines if line]
    top = SENDER_BOX_BOTTOM + SENDER_BOX_SIZE[1] + 3 * mm + len(sender_lines) * 8 * LINE_SPACING
    _draw_lines(canvas, sender_lines, x=6 * mm, top=top, size=8, font=MINCHO)


# --- the message side -------------------------------------------------------------------------------
def message_layout(card: Postcard) -> tuple[float, list[str], list[str]]:
    """(font size, title lines, body lines) of the message side; raises MessageTooLong."""
    register_fonts()
    page_w, page_h = CARD_SIZE
    width = page_w - 2 * MESSAGE_MARGIN
    height = page_h - 2 * MESSAGE_MARGIN
    for size in MESSAGE_FONT_SIZES:
        title = _wrap(card.message_title, GOTHIC, size * 1.2, width) if card.message_title else []
        body = _wrap(card.message, MINCHO, size, width)
        used = (
            len(title) * size * 1.2 * LINE_SPACING + (size if title else 0) + len(body) * size * LINE_SPACING
        )
        if used <= height:
            return size, title, body
    raise MessageTooLong(f"{len(card.message)} characters")


def draw_message(canvas: Canvas, card: Postcard) -> None:
    _, page_h = CARD_SIZE
    size, title, body = message_layout(card)
    y = page_h - MESSAGE_MARGIN
    if title:
        y = _draw_lines(canvas, title, x=MESSAGE_MARGIN, top=y, size=size * 1.2, font=GOTHIC) - size
    _draw_lines(canvas, body, x=MESSAGE_MARGIN, top=y, size=size, font=MINCHO)


# --- documents --------------------------------------------------------------------------------------
def render_postcards(
    cards: Iterable[Postcard], *, vertical: bool = True, sides: str = "both", draw_boxes: bool = True
) -> bytes:
    """The cards as one PDF: address page (+ message page when `sides="both"`) per card, in order.

    `draw_boxes=False` leaves out the 〒 frames for cards that have them printed (官製はがき).
    """
    if sides not in ("both", "address"):
        raise ValueError(f"sides must be 'both' or 'address', not {sides!r}")
    buffer = io.BytesIO()
    canvas = _canvas(buffer, CARD_SIZE)
    draw_address = draw_address_vertical if vertical else draw_address_horizontal
    for card in cards:
        draw_address(canvas, card, draw_boxes=draw_boxes)
        canvas.showPage()
        if sides == "both":
            draw_message(canvas, card)
            canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def render_labels(cards: Iterable[Postcard], *, per_sheet: int = 12) -> bytes:
    """Address labels (horizontal) on A4 sheets of 12 or 24, left to right, top to bottom."""
    sheet = LABEL_SHEETS[per_sheet]
    buffer = io.BytesIO()
    canvas = _canvas(buffer, A4)
    _, page_h = A4
    slot = 0
    for card in cards:
        if slot == sheet.per_sheet:
            canvas.showPage()
            slot = 0
        row, column = divmod(slot, sheet.columns)
        left = (sheet.left + column * (sheet.width + sheet.gap_x)) * mm
        top = page_h - (sheet.top + row * (sheet.height + sheet.gap_y)) * mm
        _draw_label(canvas, card, left=left, top=top, sheet=sheet)
        slot += 1
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _draw_label(canvas: Canvas, card: Postcard, *, left: float, top: float, sheet: LabelSheet) -> None:
    width = sheet.width * mm - 2 * LABEL_PADDING
    height = sheet.height * mm - 2 * LABEL_PADDING
    x, y = left + LABEL_PADDING, top - LABEL_PADDING
    name = f"{card.name}　{HONORIFIC}"
    for size in (10, 9, 8, 7, 6):
        lines = [
            wrapped
            for part in address_parts(card.address_lines)
            for wrapped in _wrap(part, MINCHO, size, width)
        ]
        needed = (1 + len(lines)) * size * LINE_SPACING + size * 1.4 * LINE_SPACING
        if needed <= height:
            break
    postal = f"{POSTAL_MARK}{formatted_postal_code(card.postal_code)}"
    y = _draw_lines(canvas, [postal], x=x, top=y, size=size, font=GOTHIC)
    y = _draw_lines(canvas, lines, x=x, top=y, size=size, font=MINCHO)
    _draw_lines(canvas, [name], x=x + 3 * mm, top=y, size=size * 1.4, font=MINCHO)
