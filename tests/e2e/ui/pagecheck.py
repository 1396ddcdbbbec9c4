"""What every page must get right in a real browser, as checks that return a list of problems:
nothing spills out of its box or the viewport, no script error, no UTC or ISO time on screen, no
English field key in a message. Used by the tests in this package."""
from __future__ import annotations

import re

# Laid out by the browser: every visible element must sit inside the viewport and inside its box.
# Clipping on purpose is allowed only with an ellipsis (names kept on one line); a scroll box (a
# wide table inside its card) only where `scroll_ok`. Charts draw their own text and are skipped.
OVERFLOW_JS = r"""
const [fitHeight, scrollOk, containers] = arguments;
const problems = [];
const vw = window.innerWidth, vh = window.innerHeight;
const doc = document.documentElement;
if (doc.scrollWidth > vw + 1) problems.push(`the page is ${doc.scrollWidth}px wide in a ${vw}px viewport`);
if (fitHeight && doc.scrollHeight > vh + 1) problems.push(`the page is ${doc.scrollHeight}px high in a ${vh}px viewport`);
const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
  (typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\s+/).join('.') : '');
const where = el => { const t = (el.innerText || el.value || '').trim().replace(/\s+/g, ' ').slice(0, 30); return name(el) + (t ? ` “${t}”` : ''); };
const inScroller = el => { const wrap = el.parentElement && el.parentElement.closest('.table-wrap'); return scrollOk && wrap; };
const skipped = el => el.closest('#chart, .chart, svg, canvas, select, datalist, script, style, noscript, .sr-table') || inScroller(el);
const shown = el => {
  const style = getComputedStyle(el), box = el.getBoundingClientRect();
  return style.display !== 'none' && style.visibility !== 'hidden' && (box.width > 0 || box.height > 0);
};
const scrolls = v => v === 'auto' || v === 'scroll';
for (const el of document.querySelectorAll('body *')) {
  if (skipped(el) || !shown(el)) continue;
  const style = getComputedStyle(el), box = el.getBoundingClientRect();
  if (box.right > vw + 1 || box.left < -1 || (fitHeight && (box.bottom > vh + 1 || box.top < -1))) {
    problems.push(`${where(el)} at x ${Math.round(box.left)}–${Math.round(box.right)}, y ${Math.round(box.top)}–${Math.round(box.bottom)}: outside the ${vw}×${vh} viewport`);
    continue;
  }
  if (['INPUT', 'TEXTAREA', 'BUTTON', 'IMG', 'HTML', 'BODY'].includes(el.tagName) || style.display.startsWith('inline') && !style.display.includes('block')) continue;
  if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0) {
    if (style.overflowX === 'visible') problems.push(`${where(el)}: content ${el.scrollWidth}px wide spills out of its ${el.clientWidth}px box`);
    else if (scrolls(style.overflowX) && !scrollOk) problems.push(`${where(el)}: scrolls sideways (${el.scrollWidth}px in ${el.clientWidth}px)`);
    else if (style.overflowX === 'hidden' && style.textOverflow !== 'ellipsis') problems.push(`${where(el)}: ${el.scrollWidth - el.clientWidth}px cut off on the right`);
  }
  if (el.scrollHeight > el.clientHeight + 3 && el.clientHeight > 0) {
    if (style.overflowY === 'hidden' && style.textOverflow !== 'ellipsis') problems.push(`${where(el)}: ${el.scrollHeight - el.clientHeight}px cut off at the bottom`);
    else if (scrolls(style.overflowY) && !scrollOk) problems.push(`${where(el)}: scrolls (${el.scrollHeight}px in ${el.clientHeight}px)`);
  }
}
// the key containers: everything inside them stays inside them
for (const box of document.querySelectorAll(containers)) {
  if (!shown(box)) continue;
  const outer = box.getBoundingClientRect();
  for (const el of box.querySelectorAll('*')) {
    if (skipped(el) || !shown(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.left < outer.left - 1 || r.right > outer.right + 1 || r.top < outer.top - 1 || r.bottom > outer.bottom + 1) {
      problems.push(`${where(el)} sticks out of ${name(box)} (${Math.round(r.left - outer.left)}, ${Math.round(outer.right - r.right)}, ${Math.round(r.top - outer.top)}, ${Math.round(outer.bottom - r.bottom)})`);
      break;
    }
  }
}
return problems;
"""

ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}|\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})(?![\d:])")
UTC_WORDS = re.compile(r"\bUTC\b|\bGMT\b|上海时间")
# Keys of the JSON bodies and import columns that people must never be shown in a message.
FIELD_KEYS = re.compile(r"\b(first_day|last_day|freeze_at|credit_code|tax_compliant|participant_id|region_code|"
                        r"parent_code|target_yuan|target_fen|annual_target_fen|host_id|scope_key|min_net_gmv_fen|"
                        r"min_order_count|amount_fen|slug|county|accounts|enterprises|_schema)\b")
MESSAGE_SELECTORS = ".flash, .field-error, #message, #import-errors td, #import-warnings td, #targets-errors td"


CONTAINERS = (".card, .panel, .kpi, .s-row, .s-head, .s-foot, .totals > div, .figure, .stats > div, nav.side, "
              ".topbar, main, .page-head, .pager, .filters")


def overflow_problems(driver, *, fit_height: bool = False, scroll_ok: bool = False,
                      containers: str = CONTAINERS) -> list[str]:
    return driver.execute_script(OVERFLOW_JS, fit_height, scroll_ok, containers)


def script_errors(driver, *, expected_status: int | None = None) -> list[str]:
    """Severe browser-log entries: script errors, CSP refusals, failed loads (an error page's own
    status is expected: the browser logs the 404 of the page it asked for)."""
    errors = []
    for entry in driver.get_log("browser"):
        if entry["level"] != "SEVERE":
            continue
        if expected_status and f"status of {expected_status}" in entry["message"]:
            continue
        errors.append(entry["message"])
    return errors


def visible_text(driver) -> str:
    return driver.execute_script("return document.body.innerText")


def time_problems(text: str) -> list[str]:
    found = [f"ISO time “{m.group(0)}”" for m in ISO_TIME.finditer(text)]
    found += [f"“{m.group(0)}”" for m in UTC_WORDS.finditer(text)]
    return found


def message_problems(driver) -> list[str]:
    messages = driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.innerText)", MESSAGE_SELECTORS)
    return [f"“{m}” names {k.group(0)}" for m in messages for k in FIELD_KEYS.finditer(m)]
