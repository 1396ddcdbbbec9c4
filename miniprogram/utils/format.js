// Money arrives in fen (integers); show yuan with thousands separators, no float rounding.
function yuan(fen) {
  if (typeof fen !== 'number' || !Number.isFinite(fen)) return '-'
  const sign = fen < 0 ? '-' : ''
  const abs = Math.abs(Math.trunc(fen))
  const whole = String(Math.floor(abs / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  const cents = String(abs % 100).padStart(2, '0')
  return `${sign}${whole}.${cents}`
}

// The one place a time becomes text for a person: Beijing time (UTC+8, no DST) as
// "YYYY-MM-DD HH:mm", whatever the phone's time zone. The API sends ISO 8601 with an offset,
// often with microseconds ("2026-12-01T10:14:41.456539+00:00"), which some JS engines
// (iOS JavaScriptCore) refuse to parse, so the string is parsed by hand. A time without an
// offset is taken as UTC (the server's clock). Anything unparseable becomes ''.
const BEIJING_OFFSET_MS = 8 * 3600 * 1000
const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/

function toMillis(value) {
  if (value instanceof Date) return value.getTime()
  if (typeof value === 'number') return value
  if (typeof value !== 'string') return NaN
  const m = ISO.exec(value.trim())
  if (!m) return NaN
  const [, y, mo, d, h, mi, s, frac, zone] = m
  const ms = frac ? Number(frac.slice(0, 3).padEnd(3, '0')) : 0
  let offsetMin = 0
  if (zone && zone !== 'Z' && zone !== 'z') {
    const digits = zone.slice(1).replace(':', '')
    offsetMin = (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0)) * (zone[0] === '-' ? -1 : 1)
  }
  return Date.UTC(+y, +mo - 1, +d, +h, +mi, +(s || 0), ms) - offsetMin * 60000
}

const pad = (n) => String(n).padStart(2, '0')

function beijingTime(value) {
  const t = toMillis(value)
  if (!Number.isFinite(t)) return ''
  const b = new Date(t + BEIJING_OFFSET_MS) // read with getUTC*: never the phone's zone
  return `${b.getUTCFullYear()}-${pad(b.getUTCMonth() + 1)}-${pad(b.getUTCDate())} ${pad(b.getUTCHours())}:${pad(b.getUTCMinutes())}`
}

// Rank movement as shown next to a rank: places moved and a colour class
// (Chinese convention: red = up, green = down).
function movement(entry) {
  const kind = entry && entry.movement
  const places = entry && typeof entry.previous_rank === 'number' && typeof entry.rank === 'number'
    ? Math.abs(entry.previous_rank - entry.rank) : null
  if (kind === 'up') return { text: places ? `↑${places}` : '↑', cls: 'mv-up' }
  if (kind === 'down') return { text: places ? `↓${places}` : '↓', cls: 'mv-down' }
  if (kind === 'same') return { text: '—', cls: 'mv-same' }
  if (kind === 'new') return { text: '新', cls: 'mv-new' }
  return { text: '', cls: '' }
}

module.exports = { yuan, beijingTime, movement }
