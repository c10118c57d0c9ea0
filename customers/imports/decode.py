"""Bytes to text: Japanese Excel exports come as UTF-8, UTF-8 with BOM or Shift_JIS (cp932)."""

from __future__ import annotations

import codecs
import io
from typing import BinaryIO

ENCODING_SAMPLE_BYTES = 1 << 20


def detect_encoding(sample: bytes) -> str:
    """utf-8-sig for a BOM; utf-8 when the sample decodes as UTF-8; otherwise Shift_JIS (cp932)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return "cp932"
    return "utf-8"


def text_stream(fileobj: BinaryIO) -> tuple[io.TextIOWrapper, str]:
    """The file as text in the encoding its first MiB shows, and that encoding's name."""
    sample = fileobj.read(ENCODING_SAMPLE_BYTES)
    fileobj.seek(0)
    encoding = detect_encoding(sample)
    return io.TextIOWrapper(fileobj, encoding=encoding, newline=""), encoding
