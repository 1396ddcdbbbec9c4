"""Checks on a PDF itself: where each character is drawn, which fonts it uses, whether they are
embedded, and whether every drawn character has a real glyph in the embedded font program."""
from __future__ import annotations

import io
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pdfplumber
from fontTools.ttLib import TTFont
from pypdf import PdfReader


@dataclass(frozen=True)
class Box:
    x0: float
    top: float
    x1: float
    bottom: float

    def contains(self, other: "Box") -> bool:
        return (self.x0 <= other.x0 and other.x1 <= self.x1 and self.top <= other.top
                and other.bottom <= self.bottom)


@dataclass(frozen=True)
class DrawnChar:
    text: str
    font: str  # base font name without the subset tag, e.g. UKaiCN-0
    box: Box


@dataclass(frozen=True)
class PageFacts:
    width: float
    height: float
    frame: Box  # the inside of the innermost rectangle drawn on the page (its stroke excluded)
    chars: list[DrawnChar]
    images: list[Box]
    text: str  # the page's text, lines joined without breaks

    def chars_outside_frame(self) -> list[DrawnChar]:
        return [c for c in self.chars if not self.frame.contains(c.box)]


def page_facts(pdf: bytes) -> PageFacts:
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        assert len(document.pages) == 1
        page = document.pages[0]
        rects = sorted(page.rects, key=lambda r: r["width"] * r["height"])
        inner = rects[0]
        half = inner["linewidth"] / 2
        frame = Box(inner["x0"] + half, inner["top"] + half, inner["x1"] - half, inner["bottom"] - half)
        chars = [DrawnChar(c["text"], c["fontname"].split("+", 1)[-1], Box(c["x0"], c["top"], c["x1"], c["bottom"]))
                 for c in page.chars]
        images = [Box(i["x0"], i["top"], i["x1"], i["bottom"]) for i in page.images]
        text = "".join(page.extract_text().split("\n"))
        return PageFacts(float(page.width), float(page.height), frame, chars, images, text)


def pdffonts(pdf: bytes) -> list[dict[str, str]]:
    """poppler's pdffonts: one dict per font (name, type, emb, sub, uni)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doc.pdf"
        path.write_bytes(pdf)
        output = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True).stdout
    rows = []
    for line in output.splitlines()[2:]:
        fields = line.split()
        # name type... encoding emb sub uni object-id generation
        rows.append({"name": fields[0], "emb": fields[-5], "sub": fields[-4], "uni": fields[-3],
                     "type": " ".join(fields[1:-6])})
    return rows


def _to_unicode(cmap_text: str) -> dict[int, str]:
    mapping: dict[int, str] = {}
    for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap_text, re.S):
        for code, target in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            mapping[int(code, 16)] = bytes.fromhex(target).decode("utf-16-be")
    for block in re.findall(r"beginbfrange(.*?)endbfrange", cmap_text, re.S):
        for start, end, target in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            first = int(target, 16)
            for offset, code in enumerate(range(int(start, 16), int(end, 16) + 1)):
                mapping[code] = chr(first + offset)
    return mapping


def glyphless_characters(pdf: bytes) -> dict[str, list[str]]:
    """For each font of the PDF (by base font name), the characters drawn with it (per its
    ToUnicode map) whose glyph in the embedded font program is missing: no glyph for the code, the
    .notdef glyph itself, a copy of .notdef, or an empty outline for a character that is not a
    space. reportlab draws a character its font lacks as code 0, which maps to "\x00" and .notdef:
    that shows as "\x00". Fonts that are not embedded TrueType are reported under the key
    "<name> (not embedded)"."""
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        drawn: dict[str, set[str]] = {}
        for page in document.pages:
            for char in page.chars:
                drawn.setdefault(char["fontname"], set()).add(char["text"])
    problems: dict[str, list[str]] = {}
    reader = PdfReader(io.BytesIO(pdf))
    for page in reader.pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            name = str(font["/BaseFont"]).lstrip("/")
            descriptor = font.get("/FontDescriptor")
            if descriptor is None or "/FontFile2" not in descriptor.get_object():
                problems.setdefault(f"{name} (not embedded)", [])
                continue
            program = TTFont(io.BytesIO(descriptor.get_object()["/FontFile2"].get_object().get_data()))
            cmap = program["cmap"].tables[0].cmap
            glyf = program["glyf"]
            notdef = glyf[".notdef"]
            notdef_outline = (notdef.numberOfContours, getattr(notdef, "coordinates", None) and list(notdef.coordinates))
            missing = []
            for code, char in _to_unicode(font["/ToUnicode"].get_object().get_data().decode("latin-1")).items():
                if char not in drawn.get(name, ()):
                    continue  # reportlab reserves code 0 and all of ASCII in a font's first subset
                glyph_name = cmap.get(code)
                if glyph_name is None or glyph_name == ".notdef":
                    missing.append(char)
                    continue
                glyph = glyf[glyph_name]
                outline = (glyph.numberOfContours, getattr(glyph, "coordinates", None) and list(glyph.coordinates))
                if (glyph.numberOfContours == 0 and not char.isspace()) or outline == notdef_outline:
                    missing.append(char)
            if missing:
                problems[name] = sorted(set(missing))
    return problems
