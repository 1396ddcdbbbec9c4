// Money arrives in fen (integers); show yuan with thousands separators, no float rounding.
function yuan(fen) {
  if (typeof fen !== 'number' || !Number.isFinite(fen)) return '-'
  const sign = fen < 0 ? '-' : ''
  const abs = Math.abs(Math.trunc(fen))
  const whole = String(Math.floor(abs / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  const cents = String(abs % 100).padStart(2, '0')
  return `${sign}${whole}.${cents}`
}

const MOVEMENT = { up: '↑ 上升', down: '↓ 下降', same: '— 持平', new: '新上榜' }

function movement(value) {
  return MOVEMENT[value] || ''
}

module.exports = { yuan, movement }
