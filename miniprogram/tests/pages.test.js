const { fakeBackend, loadPage, settle, text } = require('./helpers')
const { yuan } = require('../utils/format')

const CAMPAIGN = { slug: 'qcqh', name: '千村千红·湘西香伴', status: 'active' }
const entry = (rank, id, name, fen, movement = 'same') => ({ rank, id, name, net_gmv_fen: fen, movement })
const TEMPLATES = {
  templates: [
    { kind: 'rank', template_id: 'tpl-rank', title: '排名变动提醒' },
    { kind: 'award', template_id: 'tpl-award', title: '获奖通知' },
  ],
  credits: { 'tpl-rank': 0, 'tpl-award': 0 },
}

test('yuan formats fen exactly', () => {
  expect(yuan(1234567)).toBe('12,345.67')
  expect(yuan(5)).toBe('0.05')
  expect(yuan(-100)).toBe('-1.00')
})

describe('排行榜 (boards)', () => {
  test('shows the top ten without logging in and switches period and board', async () => {
    const backend = fakeBackend({
      'GET /v1/campaigns': { body: { campaigns: [CAMPAIGN] } },
      'GET /v1/campaigns/qcqh/boards?period=campaign': {
        body: { hosts: [entry(1, 'H1', '苗家阿妹', 1234567, 'up')], enterprises: [entry(1, 'E1', '古丈茶业', 99)] },
      },
      'GET /v1/campaigns/qcqh/boards?period=today': { body: { hosts: [], enterprises: [] } },
    })
    const { page, loaded } = loadPage('boards')
    await loaded
    expect(text(page)).toContain('千村千红·湘西香伴')
    expect(text(page)).toContain('苗家阿妹')
    expect(text(page)).toContain('¥12,345.67')
    expect(text(page)).toContain('↑ 上升')
    expect(backend.calls.every((c) => !c.auth)).toBe(true)
    expect(wx.login).not.toHaveBeenCalled()

    page.querySelector('.board-enterprises').dispatchEvent('tap')
    await settle()
    expect(text(page)).toContain('古丈茶业')
    page.querySelector('.period-today').dispatchEvent('tap')
    await settle()
    expect(text(page)).toContain('暂无成交')
  })

  test('shows the API error message', async () => {
    fakeBackend({ 'GET /v1/campaigns': { status: 503, body: { error: { code: 'unavailable', message: '服务暂时不可用，请稍后重试' } } } })
    const { page, loaded } = loadPage('boards')
    await loaded
    expect(text(page)).toContain('服务暂时不可用')
  })
})

describe('我的 (me)', () => {
  const rankBody = {
    periods: {
      campaign: { ranked: true, rank: 12, movement: 'down', net_gmv_fen: 500, gap_to_above_fen: 9500, gap_to_top10_fen: 19501, in_top10: false },
      today: { ranked: false },
    },
  }
  const bound = (credits = 0) => ({
    'GET /v1/mp/me': { body: { bound: true, host: { id: 'H12', name: '主播12', county_name: '吉首市' } } },
    'GET /v1/mp/me/campaigns': { body: { campaigns: [CAMPAIGN] } },
    'GET /v1/mp/me/campaigns/qcqh/rank': { body: rankBody },
    'GET /v1/mp/me/campaigns/qcqh/daily': { body: { days: [{ day: '2026-11-22', net_gmv_fen: 0 }, { day: '2026-11-23', net_gmv_fen: 500 }] } },
    'GET /v1/mp/subscriptions': { body: { ...TEMPLATES, credits: { 'tpl-rank': credits } } },
    'POST /v1/mp/subscriptions': { body: TEMPLATES },
  })

  test('logs in, shows my rank and gaps, and asks for the rank reminder on tap', async () => {
    const backend = fakeBackend(bound())
    const { page, loaded } = loadPage('me')
    await loaded
    expect(wx.login).toHaveBeenCalledTimes(1)
    expect(backend.calls[0]).toMatchObject({ method: 'POST', url: '/v1/mp/login', data: { code: 'code-1' } })
    expect(backend.calls.slice(1).every((c) => c.auth === 'Bearer mps_token1')).toBe(true)
    const shown = text(page)
    expect(shown).toContain('第 12 名')
    expect(shown).toContain('距第 10 名还差：¥195.01')
    expect(shown).toContain('距上一名：¥95.00')
    expect(shown).toContain('暂未上榜')
    expect(shown).toContain('11-23')
    expect(wx.requestSubscribeMessage).not.toHaveBeenCalled()

    wx.requestSubscribeMessage.mockImplementation(({ tmplIds, success }) => success({ [tmplIds[0]]: 'accept' }))
    page.querySelector('.subscribe').dispatchEvent('tap')
    await settle()
    expect(wx.requestSubscribeMessage.mock.calls[0][0].tmplIds).toEqual(['tpl-rank'])
    const report = backend.calls.find((c) => c.method === 'POST' && c.url === '/v1/mp/subscriptions')
    expect(report.data).toEqual({ template_ids: ['tpl-rank'] })
    expect(page.data.subscribed).toBe(true)
    expect(page.querySelector('.subscribe')).toBeFalsy()
  })

  test('a rejected subscription reports nothing', async () => {
    const backend = fakeBackend(bound())
    const { page, loaded } = loadPage('me')
    await loaded
    wx.requestSubscribeMessage.mockImplementation(({ success }) => success({ 'tpl-rank': 'reject' }))
    await page.instance.onSubscribe()
    expect(backend.calls.some((c) => c.method === 'POST' && c.url === '/v1/mp/subscriptions')).toBe(false)
    expect(page.data.subscribed).toBe(false)
  })

  test('already subscribed: no prompt', async () => {
    fakeBackend(bound(1))
    const { page, loaded } = loadPage('me')
    await loaded
    expect(page.querySelector('.subscribe')).toBeFalsy()
  })

  test('an expired session logs in again once', async () => {
    let first = true
    const routes = bound()
    routes['GET /v1/mp/me'] = (call) => {
      if (first) { first = false; return { status: 401, body: { error: { code: 'session_expired', message: '登录已过期' } } } }
      return { body: { bound: false, host: null } }
    }
    const backend = fakeBackend(routes)
    backend.storage.liveboard_token = 'mps_old'
    const { page, loaded } = loadPage('me')
    await loaded
    expect(wx.login).toHaveBeenCalledTimes(1)
    expect(backend.calls.map((c) => c.auth)).toEqual(['Bearer mps_old', undefined, 'Bearer mps_token1'])
    expect(text(page)).toContain('你还没有绑定主播身份')
    page.querySelector('.go-bind').dispatchEvent('tap')
    await settle()
    expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/pages/bind/index' })
  })
})

describe('绑定 (bind)', () => {
  test('a scanned code fills the input; binding then offers reminders', async () => {
    const backend = fakeBackend({
      'POST /v1/mp/bind': (call) => ({ body: { host: { id: 'H12', name: '主播12' } } }),
      'GET /v1/mp/subscriptions': { body: TEMPLATES },
      'POST /v1/mp/subscriptions': { body: TEMPLATES },
    })
    const { page, loaded } = loadPage('bind', { scene: encodeURIComponent('ABCDEFGH') })
    await loaded
    expect(page.data.code).toBe('ABCDEFGH')
    page.querySelector('.submit').dispatchEvent('tap')
    await settle()
    expect(backend.calls.find((c) => c.url === '/v1/mp/bind').data).toEqual({ code: 'ABCDEFGH' })
    expect(text(page)).toContain('你已绑定为主播：主播12')

    wx.requestSubscribeMessage.mockImplementation(({ tmplIds, success }) =>
      success(Object.fromEntries(tmplIds.map((id) => [id, id === 'tpl-award' ? 'reject' : 'accept']))))
    page.querySelector('.subscribe').dispatchEvent('tap')
    await settle()
    expect(wx.requestSubscribeMessage.mock.calls[0][0].tmplIds).toEqual(['tpl-rank', 'tpl-award'])
    const report = backend.calls.find((c) => c.method === 'POST' && c.url === '/v1/mp/subscriptions')
    expect(report.data).toEqual({ template_ids: ['tpl-rank'] })
    expect(wx.switchTab).toHaveBeenCalledWith({ url: '/pages/me/index' })
  })

  test('a wrong code shows the server message; an empty one is not sent', async () => {
    const backend = fakeBackend({
      'POST /v1/mp/bind': { status: 400, body: { error: { code: 'invalid_bind_code', message: '绑定码无效、已使用或已过期，请向组织方重新索取' } } },
    })
    const { page, loaded } = loadPage('bind')
    await loaded
    await page.instance.onSubmit()
    expect(text(page)).toContain('请输入绑定码')
    expect(backend.calls.length).toBe(0)
    page.instance.onInput({ detail: { value: 'zzzz-zzzz' } })
    await page.instance.onSubmit()
    await settle()
    expect(text(page)).toContain('绑定码无效')
  })
})

describe('奖项 (awards)', () => {
  test('empty list', async () => {
    fakeBackend({ 'GET /v1/mp/me/awards': { body: { awards: [] } } })
    const { page, loaded } = loadPage('awards')
    await loaded
    expect(text(page)).toContain('暂无获奖记录')
  })

  test('awards are listed with yuan amounts', async () => {
    fakeBackend({ 'GET /v1/mp/me/awards': { body: { awards: [{ id: 'A1', name: '十大电商达人', campaign: '千村千红', amount_fen: 1000000 }] } } })
    const { page, loaded } = loadPage('awards')
    await loaded
    expect(text(page)).toContain('十大电商达人')
    expect(text(page)).toContain('¥10,000.00')
  })

  test('not bound: asks to bind', async () => {
    fakeBackend({ 'GET /v1/mp/me/awards': { status: 403, body: { error: { code: 'not_bound', message: '尚未绑定' } } } })
    const { page, loaded } = loadPage('awards')
    await loaded
    expect(text(page)).toContain('绑定主播身份后可查看你的奖项')
  })
})
