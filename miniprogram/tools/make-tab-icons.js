// Draws the three tab-bar icons (81×81 RGBA PNG, grey and brand red) with no dependencies:
//   node tools/make-tab-icons.js   → images/tab/{boards,me,awards}{,-active}.png
// Shapes are tested per pixel on a 4×4 sub-grid for smooth edges.
const fs = require('fs')
const path = require('path')
const zlib = require('zlib')

const SIZE = 81
const SUB = 4
const COLORS = { '': [0x88, 0x88, 0x88], '-active': [0xb7, 0x28, 0x2e] }

const inRect = (x, y, x0, y0, x1, y1) => x >= x0 && x <= x1 && y >= y0 && y <= y1
const inCircle = (x, y, cx, cy, r) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r
function inPolygon(x, y, pts) {
  let inside = false
  for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
    const [xi, yi] = pts[i]
    const [xj, yj] = pts[j]
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside
  }
  return inside
}
function star(cx, cy, outer, inner) {
  const pts = []
  for (let k = 0; k < 10; k++) {
    const r = k % 2 ? inner : outer
    const a = -Math.PI / 2 + (k * Math.PI) / 5
    pts.push([cx + r * Math.cos(a), cy + r * Math.sin(a)])
  }
  return pts
}

const SHAPES = {
  // 排行榜: a podium, the middle step highest
  boards: (x, y) => inRect(x, y, 10, 38, 28, 70) || inRect(x, y, 31.5, 16, 49.5, 70) || inRect(x, y, 53, 48, 71, 70),
  // 我的: head and shoulders
  me: (x, y) => inCircle(x, y, 40.5, 26, 14) || (y <= 70 && (x - 40.5) ** 2 / (27 * 27) + (y - 74) ** 2 / (28 * 28) <= 1 && y >= 46),
  // 奖项: a medal on a ribbon, with a star
  awards: (() => {
    const left = [[20, 6], [33, 6], [45, 32], [32, 32]]
    const right = [[61, 6], [48, 6], [36, 32], [49, 32]]
    const starPts = star(40.5, 52, 11, 4.5)
    return (x, y) => {
      if (inCircle(x, y, 40.5, 52, 22)) return !inCircle(x, y, 40.5, 52, 17) || inPolygon(x, y, starPts)
      return inPolygon(x, y, left) || inPolygon(x, y, right)
    }
  })(),
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})
function crc32(buf) {
  let c = 0xffffffff
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}
function chunk(type, data) {
  const len = Buffer.alloc(4)
  len.writeUInt32BE(data.length)
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(body))
  return Buffer.concat([len, body, crc])
}
function png(shape, [r, g, b]) {
  const raw = Buffer.alloc(SIZE * (SIZE * 4 + 1))
  for (let y = 0; y < SIZE; y++) {
    raw[y * (SIZE * 4 + 1)] = 0 // filter: none
    for (let x = 0; x < SIZE; x++) {
      let hits = 0
      for (let sy = 0; sy < SUB; sy++) for (let sx = 0; sx < SUB; sx++) if (shape(x + (sx + 0.5) / SUB, y + (sy + 0.5) / SUB)) hits++
      const o = y * (SIZE * 4 + 1) + 1 + x * 4
      raw[o] = r
      raw[o + 1] = g
      raw[o + 2] = b
      raw[o + 3] = Math.round((255 * hits) / (SUB * SUB))
    }
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(SIZE, 0)
  ihdr.writeUInt32BE(SIZE, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 6 // RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

const out = path.join(__dirname, '..', 'images', 'tab')
fs.mkdirSync(out, { recursive: true })
for (const [name, shape] of Object.entries(SHAPES)) {
  for (const [suffix, color] of Object.entries(COLORS)) {
    const file = path.join(out, `${name}${suffix}.png`)
    fs.writeFileSync(file, png(shape, color))
    console.log(path.relative(process.cwd(), file), fs.statSync(file).size, 'bytes')
  }
}
