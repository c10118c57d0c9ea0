"""The postcard PDF read back: page size, pages per card, the address text and 〒 as a reader extracts them.

No database: the renderer takes plain values. The vertical address is checked honestly: the glyphs of
each page are grouped into columns by their x position, the columns read right to left and each from
top to bottom, and that text must equal the customer's address (NFKC: digits and Latin letters are set
as their full-width forms in vertical text; spaces start a new column).
"""

from __future__ import annotations

import io
import unicodedata

import pdfplumber
import pytest

from reminders.postcards.render import (
    LABEL_SHEETS,
    AddressTooLong,
    MessageTooLong,
    Postcard,
    Sender,
    check_fits,
    message_layout,
    render_labels,
    render_postcards,
    vertical_address_layout,
)

MM = 72 / 25.4
SHOP = Sender(
    name="絆モータース",
    postal_code="150-0001",
    address="東京都渋谷区神宮前1-1-1 絆ビル2F",
    phone="03-1234-5678",
)
CUSTOMERS = [
    ("123-4567", "東京都世田谷区三軒茶屋2-11-22 サンタワーズ1203号室", "山田 太郎"),
    ("060-0042", "北海道札幌市中央区大通西4丁目", "佐藤 花子"),
    ("900-0015", "沖縄県那覇市久茂地1-1-1 ヒルズ那覇ー101", "Smith John"),
]
MESSAGE = "山田 太郎 様\n\nいつもご利用いただきありがとうございます。\n車検満了日は 2026年12月1日 です。"


def _cards():
    return [
        Postcard(
            postal_code=postal,
            address_lines=(address,),
            name=name,
            sender=SHOP,
            message_title="車検のご案内",
            message=MESSAGE,
        )
        for postal, address, name in CUSTOMERS
    ]


def _pdf(data: bytes):
    return pdfplumber.open(io.BytesIO(data))


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text).replace(" ", "").replace("\u3000", "")


def _columns(page, *, top_mm: float, bottom_mm: float) -> list[str]:
    """Vertical columns between two heights of the page, right to left, each read top to bottom."""
    chars = [c for c in page.chars if top_mm * MM <= c["top"] <= bottom_mm * MM]
    chars.sort(key=lambda c: -(c["x0"] + c["x1"]) / 2)
    columns: list[list[dict]] = []
    for ch in chars:
        centre = (ch["x0"] + ch["x1"]) / 2
        if columns and abs((columns[-1][0]["x0"] + columns[-1][0]["x1"]) / 2 - centre) < 3:
            columns[-1].append(ch)
        else:
            columns.append([ch])
    return ["".join(c["text"] for c in sorted(col, key=lambda c: c["top"])) for col in columns]


def _row(page, *, top_mm: float, bottom_mm: float) -> str:
    chars = [c for c in page.chars if top_mm * MM <= c["top"] <= bottom_mm * MM]
    return "".join(c["text"] for c in sorted(chars, key=lambda c: c["x0"]))


def test_duplex_cards_are_a6_postcards_address_page_then_message_page():
    with _pdf(render_postcards(_cards())) as pdf:
        assert len(pdf.pages) == 2 * len(CUSTOMERS)
        for page in pdf.pages:
            assert page.width == pytest.approx(100 * MM, abs=0.5)
            assert page.height == pytest.approx(148 * MM, abs=0.5)
        for i, (postal, _address, _name) in enumerate(CUSTOMERS):
            address_page, message_page = pdf.pages[2 * i], pdf.pages[2 * i + 1]
            assert "〒" in address_page.extract_text()
            assert _row(address_page, top_mm=10, bottom_mm=22) == "〒" + postal.replace("-", "")
            message = message_page.extract_text()
            assert message.startswith("車検のご案内")
            assert "〒" not in message
            assert "車検満了日は 2026年12月1日 です。" in message


def test_address_only_is_one_page_per_card():
    with _pdf(render_postcards(_cards(), sides="address")) as pdf:
        assert len(pdf.pages) == len(CUSTOMERS)
        assert all("〒" in page.extract_text() for page in pdf.pages)


def test_vertical_address_reads_right_to_left_as_the_customers_address_then_name_with_sama():
    with _pdf(render_postcards(_cards(), sides="address")) as pdf:
        for page, (postal, address, name) in zip(pdf.pages, CUSTOMERS, strict=True):
            # The seven 〒 digits in their boxes, in a row at the top, and the 〒 mark.
            top_row = _row(page, top_mm=10, bottom_mm=22)
            assert top_row.replace("〒", "") == postal.replace("-", "")
            assert "〒" in top_row
            columns = _columns(page, top_mm=24, bottom_mm=128)
            name_index = next(i for i, col in enumerate(columns) if col.endswith("様"))
            assert _nfkc("".join(columns[:name_index])) == _nfkc(address)
            assert _nfkc(columns[name_index]) == _nfkc(name) + "様"
            # The return address (差出人) left of the name: address, phone, shop name.
            assert [_nfkc(c) for c in columns[name_index + 1 :]] == [
                _nfkc("東京都渋谷区神宮前1-1-1"),
                _nfkc("絆ビル2F"),
                _nfkc("03-1234-5678"),
                "絆モータース",
            ]
            # The return 〒 in its small boxes at the bottom left.
            assert _row(page, top_mm=132, bottom_mm=142) == "1500001"


def test_horizontal_address_lines_equal_the_customers_address():
    with _pdf(render_postcards(_cards(), vertical=False, sides="address")) as pdf:
        for page, (postal, address, name) in zip(pdf.pages, CUSTOMERS, strict=True):
            lines = page.extract_text().splitlines()
            assert f"〒{postal}" in lines
            start = lines.index(f"〒{postal}") + 1
            parts = address.split()
            assert lines[start : start + len(parts)] == parts
            assert _nfkc(lines[start + len(parts)]) == _nfkc(name) + "様"


def test_reprint_is_byte_identical():
    assert render_postcards(_cards()) == render_postcards(_cards())
    assert render_labels(_cards(), per_sheet=24) == render_labels(_cards(), per_sheet=24)


@pytest.mark.parametrize("per_sheet", [12, 24])
def test_label_sheets_are_a4_with_each_address_on_its_own_label(per_sheet):
    sheet = LABEL_SHEETS[per_sheet]
    many = _cards() * 9  # 27 labels: three sheets of 12, two of 24
    with _pdf(render_labels(many, per_sheet=per_sheet)) as pdf:
        assert len(pdf.pages) == -(-len(many) // sheet.per_sheet)
        for page in pdf.pages:
            assert page.width == pytest.approx(210 * MM, abs=0.5)
            assert page.height == pytest.approx(297 * MM, abs=0.5)
        for i, card in enumerate(many):
            page_no, slot = divmod(i, sheet.per_sheet)
            row, column = divmod(slot, sheet.columns)
            left = (sheet.left + column * (sheet.width + sheet.gap_x)) * MM
            top = (sheet.top + row * (sheet.height + sheet.gap_y)) * MM
            label = pdf.pages[page_no].crop((left, top, left + sheet.width * MM, top + sheet.height * MM))
            lines = label.extract_text().splitlines()
            assert lines[0] == f"〒{card.postal_code}"
            assert _nfkc("".join(lines[1:-1])) == _nfkc(card.address_lines[0])
            assert _nfkc(lines[-1]) == _nfkc(card.name) + "様"


def test_too_long_texts_are_refused_not_cut():
    with pytest.raises(AddressTooLong):
        vertical_address_layout(["東京都" + "あ" * 200])
    card = _cards()[0]
    with pytest.raises(AddressTooLong):
        check_fits(Postcard(**{**card.__dict__, "name": "長" * 30}))
    check_fits(Postcard(**{**card.__dict__, "name": "長" * 20}))
    with pytest.raises(MessageTooLong):
        message_layout(Postcard(**{**card.__dict__, "message": "長" * 3000}))
