"""crm.common.csvsafe: cells a spreadsheet would evaluate are neutralised; the download streams with a BOM."""

import pytest

from crm.common.csvsafe import csv_response, safe_cell


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+81 90", "'+81 90"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("山田 太郎", "山田 太郎"),
        ("a=b", "a=b"),
        (None, ""),
        (1200, "1200"),
        (-5, "'-5"),
    ],
)
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


def test_csv_response_streams_safe_rows_with_bom():
    response = csv_response(iter([["name", "note"], ["佐藤", "=1+1"]]), "export.csv")
    body = b"".join(response.streaming_content).decode("utf-8")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="export.csv"'
    assert body == "\ufeffname,note\r\n佐藤,'=1+1\r\n"
