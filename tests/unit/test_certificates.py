"""Certificates checked from the PDF itself: every character inside the frame, every font embedded,
every character with a real glyph, long and short names, the 落款, the seal and the 样稿 mark."""
from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from reportlab.pdfgen import canvas

from services import certificates
from services.certificates import CertificateError, certificate_filename, certificate_pdf, chinese_date, wrap
from tests.unit.pdf_checks import glyphless_characters, page_facts, pdffonts

CAMPAIGN_40 = "千村千红·湘西香伴——湘西州农产品直播带货暨乡村振兴电商消费帮扶行动季（第二届）"
ENTERPRISE_20 = "湘西自治州龙山县百合农业科技开发有限公司"
assert (len(CAMPAIGN_40), len(ENTERPRISE_20)) == (40, 20)


def award_list(**changes) -> dict:
    data = {"id": 12, "kind": "top_influencers", "kind_name": "十大电商达人", "scope": "campaign",
            "scope_key": "qcqh-xxxb-2026", "version": 1, "state": "final",
            "params": {"campaign_name": "千村千红·湘西香伴"}, "finalized_at": "2026-11-30T16:30:00+00:00"}
    return data | changes


def item(**changes) -> dict:
    return {"participant_id": "H001", "name": "苗家阿妹", "category": "十大电商达人", "amount_fen": 0} | changes


def assert_fit_to_hand_over(pdf: bytes) -> None:
    facts = page_facts(pdf)
    assert facts.width > facts.height  # A4 landscape
    assert (round(facts.width), round(facts.height)) == (842, 595)
    assert facts.chars and facts.chars_outside_frame() == []
    fonts = pdffonts(pdf)
    assert fonts and all(f["emb"] == "yes" for f in fonts), fonts
    assert not any("Helvetica" in f["name"] for f in fonts)
    assert glyphless_characters(pdf) == {}


@pytest.mark.parametrize("name, campaign", [(ENTERPRISE_20, CAMPAIGN_40), ("李", "湘")])
def test_long_and_short_names_fit_inside_the_frame_with_embedded_fonts(name, campaign):
    pdf = certificate_pdf(award_list(kind="top_enterprises", kind_name="十佳电商企业"),
                          item(name=name, category="十佳电商企业"), campaign_name=campaign)
    assert_fit_to_hand_over(pdf)
    text = page_facts(pdf).text
    assert f"{name}：" in text
    assert f"在“{campaign}”活动中荣获“十佳电商企业”称号。" in text  # the whole sentence, wrapped, nothing cut
    assert "qcqh" not in text
    assert "特发此证，以资鼓励。" in text
    assert "湘西土家族苗族自治州商务局" in text and "2026年12月1日" in text  # final on 12-01 Beijing time
    assert "名单编号 12 · 第 1 版 · 获奖编号 H001" in text
    assert "样稿" not in text


def test_every_drawn_character_is_in_the_font_it_is_drawn_with():
    from fontTools.ttLib import TTCollection

    charmaps = {"UKaiCN": TTCollection(str(certificates.KAI_FILE)).fonts[0].getBestCmap(),
                "WenQuanYiMicroHei": TTCollection(str(certificates.FALLBACK_FILE)).fonts[0].getBestCmap()}
    pdf = certificate_pdf(award_list(), item(name=ENTERPRISE_20 + "厡"), campaign_name=CAMPAIGN_40)
    chars = page_facts(pdf).chars
    for char in chars:
        family = char.font.rsplit("-", 1)[0]
        assert ord(char.text) in charmaps[family], (char.text, char.font)
    # "厡" is not in UKai: it alone comes from the fallback font, which is embedded as well
    assert {c.text for c in chars if c.font.startswith("WenQuanYiMicroHei")} == {"厡"}
    assert {"·", "“", "”", "：", "，", "。", "（", "）"} <= {c.text for c in chars if c.font.startswith("UKaiCN")}
    assert_fit_to_hand_over(pdf)


def test_the_glyph_check_finds_a_missing_glyph():
    """The check used above reports a character drawn with a font that lacks it (reportlab draws
    it as code 0, the .notdef glyph)."""
    certificates._fonts()  # registers the fonts
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, initialFontName=certificates.KAI)
    pdf.setFont(certificates.KAI, 20)
    pdf.drawString(100, 700, "湘西厡")
    pdf.save()
    assert glyphless_characters(buffer.getvalue()) == {"AAAAAA+UKaiCN-0": ["\x00"]}


def test_a_character_no_font_has_is_refused_and_invisible_ones_dropped():
    with pytest.raises(CertificateError, match="U\\+20164"):
        certificate_pdf(award_list(), item(name="张𠅤"))
    pdf = certificate_pdf(award_list(), item(name="苗家\u200b阿妹\n\t（吉首）\x07"))
    assert_fit_to_hand_over(pdf)
    assert "苗家阿妹 （吉首）：" in page_facts(pdf).text


def test_names_as_long_as_the_registry_allows_still_fit():
    """Campaign names and adjusted names may be 200 characters: the text shrinks and wraps."""
    long_name = ("湘西土家族苗族自治州农产品电子商务协会会员企业" * 10)[:200]
    long_campaign = ("千村千红·湘西香伴直播带货季" * 20)[:200]
    pdf = certificate_pdf(award_list(), item(name=long_name, amount_fen=12_345_678), campaign_name=long_campaign)
    assert_fit_to_hand_over(pdf)
    text = page_facts(pdf).text
    assert long_name in text and long_campaign in text and "奖励资金人民币123,456.78元。" in text
    sizes = {round(c.box.bottom - c.box.top) for c in page_facts(pdf).chars if c.text in long_campaign}
    assert max(sizes) < 24  # shrunk from the 24-point body
    with pytest.raises(CertificateError, match="排不下"):
        certificate_pdf(award_list(), item(name="名" * 2000))


def test_draft_lists_are_marked_and_dated_today():
    pdf = certificate_pdf(award_list(state="notice", finalized_at=None), item(), issued_on=date(2026, 10, 9))
    assert_fit_to_hand_over(pdf)
    text = page_facts(pdf).text
    assert "样稿" in text and "2026年10月9日" in text


def test_year_milestone_and_station_wording():
    milestone = award_list(kind="sales_milestone", kind_name="电商企业年度销售额首次突破奖励", scope="year",
                           scope_key="2026", params={})
    text = page_facts(certificate_pdf(milestone, item(name="湘西企业1", category="突破1000万元",
                                                      amount_fen=5_000_000))).text
    assert "2026年度网络销售额首次突破1000万元，荣获“电商企业年度销售额首次突破奖励”。" in text
    assert "奖励资金人民币50,000.00元。" in text
    station = award_list(kind="station_rating", kind_name="电商服务站点评定", scope="year", scope_key="2026", params={})
    text = page_facts(certificate_pdf(station, item(name="乾州街道电商服务站", category="乡镇（街道）电商服务站",
                                                    amount_fen=3_000_000))).text
    assert "在2026年度电商服务站点评定中获得“乡镇（街道）电商服务站”类奖励。" in text
    year_list = award_list(scope="year", scope_key="2026", params={})
    assert "在2026年度评选中荣获“十大电商达人”称号。" in page_facts(certificate_pdf(year_list, item())).text


def test_organizer_and_seal_over_the_signature(tmp_path: Path):
    seal = tmp_path / "seal.png"
    image = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((8, 8, 292, 292), outline=(200, 20, 20, 220), width=14)
    image.save(seal)
    organizer = "湘西土家族苗族自治州商务局（湘西州电子商务发展服务中心）"
    pdf = certificate_pdf(award_list(), item(), organizer=organizer, seal_image=seal)
    assert_fit_to_hand_over(pdf)
    facts = page_facts(pdf)
    assert organizer in facts.text
    [stamp] = facts.images
    [month] = [c for c in facts.chars if c.text == "月"]  # the date's 月, under the seal's centre
    assert stamp.contains(month.box) and month.box.top > (stamp.top + stamp.bottom) / 2
    organizer_chars = [c for c in facts.chars if c.box.bottom < month.box.top and c.box.top > stamp.top]
    assert organizer_chars and all(c.text in organizer for c in organizer_chars)  # the seal covers the organizer
    assert facts.frame.contains(stamp)
    with pytest.raises(CertificateError, match="未找到印章图片"):
        certificate_pdf(award_list(), item(), seal_image=tmp_path / "none.png")


def test_wrapping_rules():
    kai_width = 24.0  # one CJK character at 24 pt
    lines = wrap("在“千村千红·湘西香伴”活动中荣获“十大电商达人”称号。", kai_width * 10, 24)
    assert "".join(lines) == "在“千村千红·湘西香伴”活动中荣获“十大电商达人”称号。"
    assert all(line[0] not in certificates.NO_LINE_START for line in lines)
    assert all(line[-1] not in certificates.NO_LINE_END for line in lines)
    numbers = wrap("奖励资金人民币1,234,567.89元。", kai_width * 9, 24)
    assert any("1,234,567.89" in line for line in numbers)  # a number is never split
    assert wrap("湘西", kai_width * 10, 24, indent=2) == ["\u3000\u3000湘西"]


def test_dates_and_file_names():
    assert chinese_date(date(2026, 1, 5)) == "2026年1月5日"
    assert certificate_filename(award_list(), item()).name == "十大电商达人荣誉证书-苗家阿妹-H001.pdf"
    draft = certificate_filename(award_list(state="draft"), item(name="a/b:c", participant_id="H 1"))
    assert draft.name == "十大电商达人荣誉证书-a_b_c-H 1（样稿）.pdf"
    assert draft.ascii == "certificate-12-H_1.pdf"
