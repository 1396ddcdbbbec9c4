const { spawnSync } = require('child_process')
const path = require('path')
const { yuan, beijingTime, movement } = require('../utils/format')

const SERVER_TIME = '2026-12-01T10:14:41.456539+00:00' // as the API sends it

test('yuan formats fen exactly', () => {
  expect(yuan(1234567)).toBe('12,345.67')
  expect(yuan(5)).toBe('0.05')
  expect(yuan(-100)).toBe('-1.00')
  expect(yuan(500000)).toBe('5,000.00')
  expect(yuan(null)).toBe('-')
})

describe('beijingTime', () => {
  test('shows the API time in Beijing time as YYYY-MM-DD HH:mm', () => {
    expect(beijingTime(SERVER_TIME)).toBe('2026-12-01 18:14')
    expect(beijingTime('2026-12-31T16:05:00Z')).toBe('2027-01-01 00:05') // crosses midnight and the year
    expect(beijingTime('2026-12-01T18:14:00+08:00')).toBe('2026-12-01 18:14')
    expect(beijingTime('2026-11-30T21:14:41-05:00')).toBe('2026-12-01 10:14')
    expect(beijingTime('2026-12-01T10:14:41+0000')).toBe('2026-12-01 18:14')
    expect(beijingTime('2026-12-01T10:14:41')).toBe('2026-12-01 18:14') // no offset: the server's UTC
    expect(beijingTime(new Date(Date.UTC(2026, 11, 1, 10, 14)))).toBe('2026-12-01 18:14')
  })

  test('nothing readable becomes an empty string', () => {
    expect(beijingTime(null)).toBe('')
    expect(beijingTime(undefined)).toBe('')
    expect(beijingTime('')).toBe('')
    expect(beijingTime('yesterday')).toBe('')
  })

  test('this suite runs far from Beijing (tests/tz-setup.js), and the time is still Beijing time', () => {
    expect(new Date(Date.UTC(2026, 11, 1)).getTimezoneOffset()).toBe(480) // America/Los_Angeles in December
    expect(new Date(Date.UTC(2026, 11, 1, 10, 14)).getHours()).toBe(2) // local clock reads 02:14
    expect(beijingTime(SERVER_TIME)).toBe('2026-12-01 18:14')
    expect(beijingTime('2026-12-31T16:05:00Z')).toBe('2027-01-01 00:05')
  })

  test.each(['America/New_York', 'Europe/London', 'Australia/Sydney'])('is the same in a fresh process started with TZ=%s', (tz) => {
    const script = `const f = require(${JSON.stringify(path.join(__dirname, '..', 'utils', 'format'))});
      console.log(new Date(Date.UTC(2026, 11, 1)).getTimezoneOffset(), f.beijingTime(${JSON.stringify(SERVER_TIME)}))`
    const run = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, TZ: tz }, encoding: 'utf8' })
    const [offset, ...shown] = run.stdout.trim().split(' ')
    expect(Number(offset)).not.toBe(-480) // really not Beijing
    expect(shown.join(' ')).toBe('2026-12-01 18:14')
  })
})

test('movement: places moved, red up, green down', () => {
  expect(movement({ rank: 1, previous_rank: 4, movement: 'up' })).toEqual({ text: '↑3', cls: 'mv-up' })
  expect(movement({ rank: 12, previous_rank: 10, movement: 'down' })).toEqual({ text: '↓2', cls: 'mv-down' })
  expect(movement({ rank: 5, previous_rank: 5, movement: 'same' })).toEqual({ text: '—', cls: 'mv-same' })
  expect(movement({ rank: 7, previous_rank: null, movement: 'new' })).toEqual({ text: '新', cls: 'mv-new' })
  expect(movement({ rank: 2, previous_rank: null, movement: 'up' })).toEqual({ text: '↑', cls: 'mv-up' })
  expect(movement({})).toEqual({ text: '', cls: '' })
})
