"""PDF documents (reportlab): the deposit certificate (缴存证明).

reportlab is imported inside the function that draws, so the API's cold start does not pay for it. Chinese
is set in reportlab's built-in CID font ``STSong-Light`` (Adobe's GB1 collection, which PDF readers supply),
so no font file ships with the code.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass

FONT = "STSong-Light"


@dataclass(frozen=True)
class CertificateText:
    """What a deposit certificate says, already worded and masked by the caller."""

    center_name: str
    title: str
    statement: str                         # the "兹证明…" paragraph
    rows: Sequence[tuple[str, str]]        # (label, value) of the facts table
    code: str
    verify_hint: str                       # may name "{path}": drawn in a Latin font
    verify_path: str
    issued_on: str                         # "2026年7月15日"
    footer: str


def certificate(doc: CertificateText) -> bytes:
    """One A4 page: title, statement, facts table, verification code, issuing center and date."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER, TA_RIGHT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    body = ParagraphStyle("body", fontName=FONT, fontSize=11.5, leading=19, wordWrap="CJK", firstLineIndent=23)
    title = ParagraphStyle("title", fontName=FONT, fontSize=20, leading=28, alignment=TA_CENTER)
    small = ParagraphStyle("small", fontName=FONT, fontSize=9.5, leading=14, wordWrap="CJK")
    right = ParagraphStyle("right", fontName=FONT, fontSize=11.5, leading=19, alignment=TA_RIGHT)
    cell = ParagraphStyle("cell", fontName=FONT, fontSize=11, leading=15, wordWrap="CJK")

    table = Table([[Paragraph(_escape(label), cell), Paragraph(_mixed(value), cell)] for label, value in doc.rows],
                  colWidths=[42 * mm, 118 * mm])
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
        ("BACKGROUND", (0, 0), (0, -1), colors.Color(0.93, 0.93, 0.93)),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
    ]))
    story = [
        Paragraph(_escape(doc.title), title), Spacer(1, 4 * mm),
        Paragraph(_mixed(doc.statement), body), Spacer(1, 5 * mm),
        table, Spacer(1, 6 * mm),
        Paragraph(f'验证码：<font name="Courier-Bold" size="14">{_escape(doc.code)}</font>', body),
        Spacer(1, 2 * mm),
        Paragraph(f'<font name="Helvetica">{_escape(doc.verify_path)}</font>'.join(
            _mixed(part) for part in doc.verify_hint.split("{path}")), small),
        Spacer(1, 14 * mm),
        Paragraph(_escape(doc.center_name), right),
        Paragraph(_mixed(doc.issued_on), right), Spacer(1, 10 * mm),
        Paragraph(_escape(doc.footer), small),
    ]
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, leftMargin=25 * mm, rightMargin=25 * mm, topMargin=25 * mm,
                      bottomMargin=20 * mm, title=doc.title, author=doc.center_name,
                      creator="gjj").build(story)
    return out.getvalue()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_LATIN = re.compile(r"[0-9A-Za-z][0-9A-Za-z*.,:%/\- ]*[0-9A-Za-z*%]|[0-9A-Za-z]")


def _mixed(text: str) -> str:
    """Escaped markup with runs of Latin letters and digits in Helvetica (the CID font's Latin is too wide)."""
    return _LATIN.sub(lambda m: f'<font name="Helvetica">{m.group()}</font>', _escape(text))
