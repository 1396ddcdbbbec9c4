"""Award certificates (荣誉证书): one printable A4 landscape PDF per winner of an award list.

Fonts are TrueType files from Debian packages, embedded as subsets (reportlab TTFont), so a
certificate prints the same on any machine:
* AR PL UKai CN (楷体, fonts-arphic-ukai): every line of text. Kai is the face Chinese certificates
  are written in, and this one has simplified-Chinese glyph forms, "·" and full-width punctuation.
* WenQuanYi Micro Hei (fonts-wqy-microhei): only for a character UKai lacks (a rare character in
  a name); a character neither font has stops the certificate with CertificateError.

The canvas starts on the embedded Kai font, so reportlab never adds its unembedded Helvetica.
Every line is measured with stringWidth and wrapped inside the frame, by character for CJK, with
Latin words and numbers kept whole and the usual line-breaking rules for Chinese punctuation; when
a campaign or a name is long the text shrinks, down to a floor. The 落款 (organizer and date) follows
GB/T 9704—2012 (dates in Arabic numerals, 2026年12月1日) and the seal, when configured, is pressed
over it. Lists not yet final print a 样稿 mark.
"""
from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path

from configstore.awards import shanghai_today
from domain.money import format_yuan
from domain.periods import SHANGHAI
from services.spreadsheets import DownloadName, file_safe
from settings import Settings

KAI_FILE = Path("/usr/share/fonts/truetype/arphic/ukai.ttc")  # fonts-arphic-ukai, subfont 0 = AR PL UKai CN
FALLBACK_FILE = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")  # fonts-wqy-microhei
KAI, FALLBACK = "ARPLUKaiCN", "WenQuanYiMicroHei"

# Geometry of the page (points; A4 landscape is 841.89 x 595.28).
PAGE_WIDTH, PAGE_HEIGHT = 841.89, 595.28
BORDER_INSET = 24  # the thick outer border
FRAME_INSET = 36  # the thin inner frame: nothing is drawn outside it but the border
TEXT_LEFT = FRAME_INSET + 64
TEXT_RIGHT = PAGE_WIDTH - FRAME_INSET - 64
TEXT_WIDTH = TEXT_RIGHT - TEXT_LEFT
TITLE_BASELINE = PAGE_HEIGHT - FRAME_INSET - 86
BODY_TOP = TITLE_BASELINE - 44  # the top of the recipient line
DATE_BASELINE = FRAME_INSET + 62
FOOTER_BASELINE = FRAME_INSET + 12
SEAL_DIAMETER = 42 / 25.4 * 72  # a 42 mm official seal

BODY_SIZE, BODY_FLOOR = 24.0, 12.0  # the body shrinks in half points from 24 pt down to 12 pt
LINE_SPACING = 1.75
SIGNATURE_SIZE, SIGNATURE_FLOOR = 20.0, 16.0

RED, INK, GOLD, GREY, DRAFT = "#b71c1c", "#1f1f1f", "#c9a227", "#7a7a7a", "#e8c4c4"

# Chinese line-breaking rules: what may not begin a line, and what may not end one.
NO_LINE_START = set("，。、；：？！）》」』】〕〉”’…—·％‰,.;:?!)]}%")
NO_LINE_END = set("（《「『【〔〈“‘([{")
# Latin words, numbers and amounts ("50,000.00", "2026", "H001") are never split.
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9.,%\-_/+&@#']*")


class CertificateError(ValueError):
    """A certificate that cannot be made right: a character no font has, text too long to fit, a
    missing font or seal image. The message is Chinese, for the person who asked for it."""


@dataclass(frozen=True)
class _Fonts:
    charmaps: dict[str, frozenset[int]]  # registered font name -> code points it has a glyph for

    def font_for(self, char: str) -> str:
        for name in (KAI, FALLBACK):
            if ord(char) in self.charmaps[name]:
                return name
        raise CertificateError(f"证书字体中没有字符“{char}”（U+{ord(char):04X}），请改用常用字后再生成")

    def runs(self, text: str) -> list[tuple[str, str]]:
        """`text` as (font, text) runs: Kai wherever it has the glyph, the fallback elsewhere."""
        runs: list[tuple[str, str]] = []
        for char in text:
            font = self.font_for(char)
            if runs and runs[-1][0] == font:
                runs[-1] = (font, runs[-1][1] + char)
            else:
                runs.append((font, char))
        return runs

    def width(self, text: str, size: float) -> float:
        from reportlab.pdfbase.pdfmetrics import stringWidth

        return sum(stringWidth(run, font, size) for font, run in self.runs(text))


@cache
def _fonts() -> _Fonts:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    charmaps = {}
    for name, path, package in ((KAI, KAI_FILE, "fonts-arphic-ukai"), (FALLBACK, FALLBACK_FILE, "fonts-wqy-microhei")):
        if not path.exists():
            raise CertificateError(f"未找到证书字体 {path}：请安装 Debian 软件包 {package}（scripts/bootstrap.sh）")
        font = TTFont(name, str(path), subfontIndex=0)
        pdfmetrics.registerFont(font)
        charmaps[name] = frozenset(font.face.charToGlyph)
    return _Fonts(charmaps)


# -- text --------------------------------------------------------------------------------------
def _tokens(text: str) -> list[str]:
    tokens, at = [], 0
    while at < len(text):
        word = _WORD.match(text, at)
        end = word.end() if word else at + 1
        tokens.append(text[at:end])
        at = end
    return tokens


def wrap(text: str, width: float, size: float, *, indent: int = 0) -> list[str]:
    """`text` broken into lines no wider than `width` at `size` points: between any two CJK
    characters, never inside a Latin word or number (unless the word alone is wider than a line),
    no line starting with closing punctuation or ending with opening punctuation. `indent`
    full-width spaces open the first line (the paragraph indent)."""
    fonts = _fonts()
    lines: list[list[str]] = []
    current: list[str] = ["\u3000" * indent] if indent else []
    for token in _tokens(text):
        if fonts.width("".join(current) + token, size) <= width:
            current.append(token)
            continue
        if fonts.width(token, size) > width:  # a word longer than a line: split it by character
            for char in token:
                if fonts.width("".join(current) + char, size) > width and current:
                    lines.append(current)
                    current = []
                current.append(char)
            continue
        carried = [token]
        while len(current) > 1 and (carried[0][0] in NO_LINE_START or current[-1][-1] in NO_LINE_END):
            carried.insert(0, current.pop())
        if current:
            lines.append(current)
        current = carried
    if current:
        lines.append(current)
    return ["".join(line) for line in lines]


def _issue_date(award_list: dict, issued_on: date | None) -> date:
    """The date printed: the one given, else the day the list became final (so every download of
    a final certificate carries the same date), else today in Beijing time (样稿)."""
    if issued_on is not None:
        return issued_on
    if award_list.get("finalized_at"):
        return datetime.fromisoformat(award_list["finalized_at"]).astimezone(SHANGHAI).date()
    return shanghai_today()


def chinese_date(day: date) -> str:
    """2026年12月1日: Arabic numerals, the full year, no leading zeros (GB/T 9704—2012, 7.3.5.4)."""
    return f"{day.year}年{day.month}月{day.day}日"


def printable(text: str) -> str:
    """`text` as it can be printed: line breaks, tabs and other spaces become one plain space,
    invisible control and format characters go (names arrive from imports and adjustments)."""
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if char in "\t\n\r" or (category == "Zs" and char != "\u3000"):
            kept.append(" ")
        elif category not in ("Cc", "Cf"):
            kept.append(char)
    return re.sub(" {2,}", " ", "".join(kept)).strip()


def certificate_text(award_list: dict, item: dict, campaign_name: str | None) -> tuple[str, list[str]]:
    """(the recipient line, the body paragraphs) of one winner's certificate."""
    kind, kind_name, category = award_list["kind"], award_list["kind_name"], (item.get("category") or "").strip()
    year = award_list["scope_key"]
    if kind in ("top_enterprises", "top_influencers"):
        honour = f"“{kind_name}”称号" + (f"（{category}）" if category and category != kind_name else "")
        if award_list["scope"] == "campaign":
            name = campaign_name or award_list["params"].get("campaign_name") or year
            achievement = f"在“{name}”活动中荣获{honour}。"
        else:
            achievement = f"在{year}年度评选中荣获{honour}。"
    elif kind == "sales_milestone":
        achievement = (f"{year}年度网络销售额首次{category}，荣获“{kind_name}”。" if category.startswith("突破")
                       else f"在{year}年度{kind_name}中获得“{category}”奖励。")
    else:
        achievement = f"在{year}年度{kind_name}中获得“{category}”类奖励。"
    if item["amount_fen"] > 0:
        achievement += f"奖励资金人民币{format_yuan(item['amount_fen'])}。"
    return f"{printable(item['name'])}：", [printable(achievement), "特发此证，以资鼓励。"]


@dataclass(frozen=True)
class _Layout:
    size: float
    name_size: float
    name_lines: list[str]
    body_lines: list[str]

    @property
    def leading(self) -> float:
        return self.size * LINE_SPACING

    @property
    def height(self) -> float:
        return (len(self.name_lines) * self.name_size * LINE_SPACING + len(self.body_lines) * self.leading)


def _layout(recipient: str, paragraphs: list[str], bottom: float) -> _Layout:
    """The largest body size (24 pt down to 12 pt) at which the recipient and the paragraphs fit
    between BODY_TOP and `bottom`."""
    size = BODY_SIZE
    while size >= BODY_FLOOR:
        name_size = size * 1.15
        name_lines = wrap(recipient, TEXT_WIDTH, name_size)
        body_lines = [line for p in paragraphs for line in wrap(p, TEXT_WIDTH, size, indent=2)]
        layout = _Layout(size, name_size, name_lines, body_lines)
        if layout.height <= BODY_TOP - bottom:
            return layout
        size -= 0.5
    raise CertificateError("获奖名称或活动名称过长，证书内排不下；请缩短名称后再生成")


# -- drawing -----------------------------------------------------------------------------------
def _draw(pdf, x: float, y: float, text: str, size: float, *, bold: bool = False) -> None:
    """One line at (x, baseline y), each run in the font that has its glyphs. `bold` strokes the
    outlines as well as filling them (a heavier Kai for the recipient and the title), inside its
    own graphics state: the rendering mode would otherwise carry over to later text."""
    fonts = _fonts()
    pdf.saveState()
    text_object = pdf.beginText(x, y)
    if bold:
        text_object.setTextRenderMode(2)
        pdf.setLineWidth(size * 0.025)
    for font, run in fonts.runs(text):
        text_object.setFont(font, size)
        text_object.textOut(run)
    pdf.drawText(text_object)
    pdf.restoreState()


def _centred(pdf, x: float, y: float, text: str, size: float, **kwargs) -> None:
    _draw(pdf, x - _fonts().width(text, size) / 2, y, text, size, **kwargs)


@dataclass(frozen=True)
class _Signature:
    size: float
    centre: float  # x of the block's vertical axis
    lines: list[tuple[float, str]]  # (baseline, text), organizer lines then the date
    top: float

    def seal_box(self) -> tuple[float, float, float, float]:
        """(x, y, width, height) of the seal: centred on the block, with the organizer and the date
        a little below the seal's centre (GB/T 9704—2012, 7.3.5.1)."""
        centre_y = (DATE_BASELINE + self.top) / 2 + self.size * 0.4
        return (self.centre - SEAL_DIAMETER / 2, centre_y - SEAL_DIAMETER / 2, SEAL_DIAMETER, SEAL_DIAMETER)


def _signature(organizer: str, issued: str) -> _Signature:
    """The 落款 at the lower right (GB/T 9704—2012, 7.3.5.1): the date 右空四字, the organizer
    centred over it (moved left as far as a long organizer needs to stay in the frame). A long
    organizer name shrinks to 16 pt, then takes two lines or more, breaking first before a
    bracketed part ("湘西州商务局" / "（湘西州电子商务发展服务中心）")."""
    fonts = _fonts()
    size, width = SIGNATURE_SIZE, TEXT_WIDTH * 0.55
    while fonts.width(organizer, size) > width and size > SIGNATURE_FLOOR:
        size -= 0.5
    parts = [organizer] if fonts.width(organizer, size) <= width else re.split(r"(?=[（(])", organizer)
    organizer_lines = [line for part in parts if part for line in wrap(part, width, size)]
    block = max(fonts.width(text, size) for text in (*organizer_lines, issued))
    lines: list[tuple[float, str]] = [(DATE_BASELINE, issued)]
    y: float = DATE_BASELINE
    for text in reversed(organizer_lines):
        y += size * 1.6
        lines.insert(0, (y, text))
    centre = min(TEXT_RIGHT - size * 4 - fonts.width(issued, size) / 2, TEXT_RIGHT - block / 2)
    return _Signature(size, centre, lines, y + size)


def certificate_pdf(award_list: dict, item: dict, *, campaign_name: str | None = None,
                    organizer: str = Settings.organizer_name, seal_image: Path | None = None,
                    issued_on: date | None = None) -> bytes:
    """A4 landscape certificate for one winner (an item of `award_list`, as configstore.awards.list_dict
    gives it). `campaign_name` is the campaign's name for campaign lists (else the name stored with
    the list); `organizer` and `seal_image` come from the settings (LIVEBOARD_ORGANIZER_NAME,
    LIVEBOARD_SEAL_IMAGE, a transparent PNG). Lists not yet final are marked 样稿."""
    from reportlab.lib.colors import HexColor
    from reportlab.pdfgen import canvas

    fonts = _fonts()
    recipient, paragraphs = certificate_text(award_list, item, campaign_name)
    organizer = printable(organizer)
    issued = chinese_date(_issue_date(award_list, issued_on))
    footer = (f"名单编号 {award_list['id']} · 第 {award_list['version']} 版 · "
              f"获奖编号 {item['participant_id']}")
    for text in (recipient, *paragraphs, organizer, footer):
        fonts.runs(text)  # raises CertificateError on a character no font has
    if seal_image is not None and not Path(seal_image).is_file():
        raise CertificateError(f"未找到印章图片 {seal_image}（LIVEBOARD_SEAL_IMAGE）")

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), initialFontName=KAI, initialFontSize=12,
                        pageCompression=1)
    pdf.setTitle(f"荣誉证书 {item['name']}")
    pdf.setAuthor(organizer)
    pdf.setSubject(award_list["kind_name"])
    pdf.setCreator("Liveboard")

    pdf.setStrokeColor(HexColor(GOLD))
    pdf.setLineWidth(6)
    pdf.rect(BORDER_INSET, BORDER_INSET, PAGE_WIDTH - 2 * BORDER_INSET, PAGE_HEIGHT - 2 * BORDER_INSET)
    pdf.setLineWidth(1.5)
    pdf.rect(FRAME_INSET, FRAME_INSET, PAGE_WIDTH - 2 * FRAME_INSET, PAGE_HEIGHT - 2 * FRAME_INSET)

    if award_list["state"] != "final":  # under everything else, so the text stays legible
        pdf.setFillColor(HexColor(DRAFT))
        _centred(pdf, PAGE_WIDTH / 2, PAGE_HEIGHT / 2 - 60, "样稿", 150)

    pdf.setFillColor(HexColor(RED))
    pdf.setStrokeColor(HexColor(RED))
    title, title_size = "荣誉证书", 50
    spacing = title_size * 0.8
    x = PAGE_WIDTH / 2 - (fonts.width(title, title_size) + spacing * (len(title) - 1)) / 2
    for char in title:
        _draw(pdf, x, TITLE_BASELINE, char, title_size, bold=True)
        x += fonts.width(char, title_size) + spacing

    pdf.setFillColor(HexColor(INK))
    pdf.setStrokeColor(HexColor(INK))
    signature = _signature(organizer, issued)
    for baseline, text in signature.lines:
        _centred(pdf, signature.centre, baseline, text, signature.size)
    bottom = signature.top + 16
    layout = _layout(recipient, paragraphs, bottom)
    y = BODY_TOP - (BODY_TOP - bottom - layout.height) * 0.3  # a short text sits a little lower
    for line in layout.name_lines:
        y -= layout.name_size * LINE_SPACING
        _draw(pdf, TEXT_LEFT, y + layout.name_size * (LINE_SPACING - 1) / 2, line, layout.name_size, bold=True)
    for line in layout.body_lines:
        y -= layout.leading
        _draw(pdf, TEXT_LEFT, y + layout.size * (LINE_SPACING - 1) / 2, line, layout.size)
    if seal_image is not None:  # after the text, so the seal lies over the 落款 like ink on paper
        pdf.drawImage(str(seal_image), *signature.seal_box(), mask="auto", preserveAspectRatio=True)

    pdf.setFillColor(HexColor(GREY))
    _draw(pdf, FRAME_INSET + 16, FOOTER_BASELINE, footer, 10)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def certificate_filename(award_list: dict, item: dict) -> DownloadName:
    """十大电商达人荣誉证书-苗家阿妹-H001.pdf, with （样稿） while the list is not final."""
    draft = "" if award_list["state"] == "final" else "（样稿）"
    name = f"{award_list['kind_name']}荣誉证书-{item['name']}-{item['participant_id']}{draft}.pdf"
    participant = re.sub(r"[^A-Za-z0-9_-]", "_", item["participant_id"])
    return DownloadName(file_safe(name), f"certificate-{award_list['id']}-{participant}.pdf")
