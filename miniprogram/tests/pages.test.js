const { fakeBackend, loadPage, show, settle, text } = require('./helpers')

const CAMPAIGN = { slug: 'qcqh', name: '千村千红·湘西香伴', status: 'active' }
const entry = (rank, id, name, fen, movement = 'same', previous_rank = rank) => ({ rank, previous_rank, id, name, net_gmv_fen: fen, movement })
const SERVER_TIME = '2026-12-01T10:14:41.456539+00:00' // 18:14 in Beijing; the tests run in America/Los_Angeles
const TEMPLATES = {
  templates: [
    { kind: 'rank', template_id: 'tpl-rank', title: '排名变动提醒' },
    { kind: 'award', template_id: 'tpl-award', title: '获奖通知' },
  ],
  credits: { 'tpl-rank': 0, 'tpl-award': 0 },
}
const UNAVAILABLE = { status: 503, body: { error: { code: 'unavailable', message: '服务暂时不可用，请稍后重试' } } }
const NOT_BOUND = { status: 403, body: { error: { code: 'not_bound', message: '尚未绑定主播身份，请先输入组织方提供的绑定码' } } }

// [text, colour class] of each rendered movement
function movements(page) {
  return page.querySelectorAll('.movement').map((m) => {
    const cls = m.dom.className.split(/\s+/).map((c) => c.replace(/^.*--/, '')).find((c) => c.startsWith('mv-')) || ''
    return [m.dom.textContent.trim(), cls]
  })
}

const getCalls = (backend, url) => backend.calls.filter((c) => c.method === 'GET' && c.url === url).length

describe('排行榜 (boards)', () => {
  const routes = () => ({
    'GET /v1/campaigns': { body: { campaigns: [CAMPAIGN] } },
    'GET /v1/campaigns/qcqh/boards?period=campaign': {
      body: {
        hosts: [
          entry(1, 'H1', '苗家阿妹', 1234567, 'up', 4),
          entry(2, 'H2', '土家阿哥', 900000, 'down', 1),
          entry(3, 'H3', '凤凰小王', 800000, 'same', 3),
          entry(4, 'H4', '新来的', 700000, 'new', null),
        ],
        enterprises: [entry(1, 'E1', '古丈茶业', 99)],
        updated_at: SERVER_TIME,
      },
    },
    'GET /v1/campaigns/qcqh/boards?period=today': { body: { hosts: [], enterprises: [], updated_at: null } },
  })

  test('shows the top ten without logging in, movement with places and colour, Beijing update time', async () => {
    const backend = fakeBackend(routes())
    const { page, loaded } = loadPage('boards')
    await loaded
    const shown = text(page)
    expect(shown).toContain('千村千红·湘西香伴')
    expect(shown).toContain('苗家阿妹')
    expect(shown).toContain('¥12,345.67')
    expect(shown).toContain('更新于 2026-12-01 18:14')
    expect(shown).not.toContain('T10:14')
    expect(movements(page)).toEqual([['↑3', 'mv-up'], ['↓1', 'mv-down'], ['—', 'mv-same'], ['新', 'mv-new']])
    expect(backend.calls.every((c) => !c.auth)).toBe(true)
    expect(wx.login).not.toHaveBeenCalled()

    page.querySelector('.board-enterprises').dispatchEvent('tap')
    await settle()
    expect(text(page)).toContain('古丈茶业')
    page.querySelector('.period-today').dispatchEvent('tap')
    await settle()
    expect(text(page)).toContain('暂无成交')
    expect(text(page)).not.toContain('更新于')
  })

  test('reloads on every show', async () => {
    const r = routes()
    const backend = fakeBackend(r)
    const { page, loaded } = loadPage('boards')
    await loaded
    r['GET /v1/campaigns/qcqh/boards?period=campaign'] = { body: { hosts: [entry(1, 'H9', '后来居上', 5000000, 'up', 9)], enterprises: [] } }
    await show(page)
    expect(getCalls(backend, '/v1/campaigns/qcqh/boards?period=campaign')).toBe(2)
    expect(text(page)).toContain('后来居上')
    expect(movements(page)).toEqual([['↑8', 'mv-up']])
  })

  test('a server error shows 重试, which loads again', async () => {
    const r = routes()
    const campaigns = r['GET /v1/campaigns']
    r['GET /v1/campaigns'] = UNAVAILABLE
    const backend = fakeBackend(r)
    const { page, loaded } = loadPage('boards')
    await loaded
    expect(text(page)).toContain('服务暂时不可用')
    expect(page.querySelector('.retry').dom.textContent).toBe('重试')

    r['GET /v1/campaigns'] = campaigns
    page.querySelector('.retry').dispatchEvent('tap')
    await settle()
    expect(getCalls(backend, '/v1/campaigns')).toBe(2)
    expect(text(page)).toContain('苗家阿妹')
    expect(text(page)).not.toContain('服务暂时不可用')
    expect(page.querySelector('.retry')).toBeFalsy()
  })

  test('a client error (4xx) shows the message without 重试', async () => {
    fakeBackend({ 'GET /v1/campaigns': { status: 400, body: { error: { code: 'invalid_period', message: 'period 只能是 campaign 或 today' } } } })
    const { page, loaded } = loadPage('boards')
    await loaded
    expect(text(page)).toContain('period 只能是')
    expect(page.querySelector('.retry')).toBeFalsy()
  })

  test('pull-down refresh reloads and stops the animation, on success and on failure', async () => {
    const r = routes()
    const backend = fakeBackend(r)
    const { page, loaded } = loadPage('boards')
    await loaded
    r['GET /v1/campaigns/qcqh/boards?period=campaign'] = { body: { hosts: [entry(1, 'H5', '刷新后', 100, 'new', null)], enterprises: [] } }
    await page.instance.onPullDownRefresh()
    await settle()
    expect(getCalls(backend, '/v1/campaigns/qcqh/boards?period=campaign')).toBe(2)
    expect(text(page)).toContain('刷新后')
    expect(wx.stopPullDownRefresh).toHaveBeenCalledTimes(1)

    r['GET /v1/campaigns/qcqh/boards?period=campaign'] = { fail: true }
    await page.instance.onPullDownRefresh()
    expect(wx.stopPullDownRefresh).toHaveBeenCalledTimes(2)
    expect(text(page)).toContain('网络异常，请检查网络后重试')
    expect(page.querySelector('.retry')).toBeTruthy()
  })
})

describe('我的 (me)', () => {
  const rankBody = {
    periods: {
      campaign: {
        ranked: true, rank: 12, previous_rank: 10, movement: 'down', net_gmv_fen: 500, gap_to_above_fen: 9500,
        gap_to_top10_fen: 19501, in_top10: false, updated_at: SERVER_TIME,
      },
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

  test('logs in, shows my rank, movement and gaps, and asks for the rank reminder on tap', async () => {
    const backend = fakeBackend(bound())
    const { page, loaded } = loadPage('me')
    await loaded
    expect(wx.login).toHaveBeenCalledTimes(1)
    expect(backend.calls[0]).toMatchObject({ method: 'POST', url: '/v1/mp/login', data: { code: 'code-1' } })
    expect(backend.calls.slice(1).every((c) => c.auth === 'Bearer mps_token1')).toBe(true)
    const shown = text(page)
    expect(shown).toContain('主播12')
    expect(shown).toContain('第 12 名')
    expect(movements(page)).toEqual([['↓2', 'mv-down']])
    expect(shown).toContain('距第 10 名还差：¥195.01')
    expect(shown).toContain('距上一名：¥95.00')
    expect(shown).toContain('暂未上榜')
    expect(shown).toContain('更新于 2026-12-01 18:14')
    expect(shown).toContain('11-23')
    expect(shown).toContain('每次授权可接收一条通知')
    expect(wx.requestSubscribeMessage).not.toHaveBeenCalled()

    wx.requestSubscribeMessage.mockImplementation(({ tmplIds, success }) => success({ [tmplIds[0]]: 'accept' }))
    page.querySelector('.subscribe').dispatchEvent('tap')
    await settle()
    expect(wx.requestSubscribeMessage.mock.calls[0][0].tmplIds).toEqual(['tpl-rank'])
    const report = backend.calls.find((c) => c.method === 'POST' && c.url === '/v1/mp/subscriptions')
    expect(report.data).toEqual({ template_ids: ['tpl-rank'] })
    expect(page.querySelector('.subscribe')).toBeFalsy()
    expect(text(page)).toContain('还可接收 1 条通知')
  })

  test('a rejected subscription reports nothing', async () => {
    const backend = fakeBackend(bound())
    const { page, loaded } = loadPage('me')
    await loaded
    wx.requestSubscribeMessage.mockImplementation(({ success }) => success({ 'tpl-rank': 'reject' }))
    await page.instance.onSubscribe()
    expect(backend.calls.some((c) => c.method === 'POST' && c.url === '/v1/mp/subscriptions')).toBe(false)
    expect(page.querySelector('.subscribe')).toBeTruthy()
  })

  test('already subscribed: no prompt, the remaining count instead', async () => {
    fakeBackend(bound(2))
    const { page, loaded } = loadPage('me')
    await loaded
    expect(page.querySelector('.subscribe')).toBeFalsy()
    expect(text(page)).toContain('还可接收 2 条通知')
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

  test('after binding, the next show shows the host (reload on every onShow)', async () => {
    const routes = bound()
    const boundMe = routes['GET /v1/mp/me']
    routes['GET /v1/mp/me'] = { body: { bound: false, host: null } }
    fakeBackend(routes)
    const { page, loaded } = loadPage('me')
    await loaded
    expect(text(page)).toContain('你还没有绑定主播身份')

    routes['GET /v1/mp/me'] = boundMe // bound on the bind page, then back to this tab
    await show(page)
    expect(text(page)).not.toContain('你还没有绑定主播身份')
    expect(text(page)).toContain('主播12')
    expect(text(page)).toContain('第 12 名')
  })

  test('a failed request is an error with 重试, not "not bound"', async () => {
    const routes = bound()
    const me = routes['GET /v1/mp/me']
    routes['GET /v1/mp/me'] = { fail: true }
    fakeBackend(routes)
    const { page, loaded } = loadPage('me')
    await loaded
    expect(text(page)).toContain('网络异常，请检查网络后重试')
    expect(text(page)).not.toContain('你还没有绑定主播身份')

    routes['GET /v1/mp/me'] = me
    page.querySelector('.retry').dispatchEvent('tap')
    await settle()
    expect(text(page)).toContain('第 12 名')
    expect(text(page)).not.toContain('网络异常')
  })

  test('pull-down refresh reloads and stops the animation, on success and on failure', async () => {
    const routes = bound()
    const backend = fakeBackend(routes)
    const { page, loaded } = loadPage('me')
    await loaded
    routes['GET /v1/mp/me/campaigns/qcqh/rank'] = { body: { periods: { campaign: { ...rankBody.periods.campaign, rank: 9, previous_rank: 12, movement: 'up', in_top10: true }, today: { ranked: false } } } }
    await page.instance.onPullDownRefresh()
    expect(getCalls(backend, '/v1/mp/me/campaigns/qcqh/rank')).toBe(2)
    expect(text(page)).toContain('第 9 名')
    expect(text(page)).toContain('已进入前十名')
    expect(movements(page)).toEqual([['↑3', 'mv-up']])
    expect(wx.stopPullDownRefresh).toHaveBeenCalledTimes(1)

    routes['GET /v1/mp/me/campaigns/qcqh/rank'] = UNAVAILABLE
    await page.instance.onPullDownRefresh()
    expect(wx.stopPullDownRefresh).toHaveBeenCalledTimes(2)
    expect(text(page)).toContain('服务暂时不可用')
    expect(page.querySelector('.retry')).toBeTruthy()
  })
})

describe('绑定 (bind)', () => {
  test('a scanned code fills the input; binding then offers reminders, one message per consent', async () => {
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
    expect(text(page)).toContain('每次授权可接收一条通知')

    wx.requestSubscribeMessage.mockImplementation(({ tmplIds, success }) =>
      success(Object.fromEntries(tmplIds.map((id) => [id, id === 'tpl-award' ? 'reject' : 'accept']))))
    page.querySelector('.subscribe').dispatchEvent('tap')
    await settle()
    expect(wx.requestSubscribeMessage.mock.calls[0][0].tmplIds).toEqual(['tpl-rank', 'tpl-award'])
    const report = backend.calls.find((c) => c.method === 'POST' && c.url === '/v1/mp/subscriptions')
    expect(report.data).toEqual({ template_ids: ['tpl-rank'] })
    expect(wx.switchTab).toHaveBeenCalledWith({ url: '/pages/me/index' })
  })

  test('the bind succeeds even if the reminder templates cannot be read', async () => {
    fakeBackend({
      'POST /v1/mp/bind': { body: { host: { id: 'H12', name: '主播12' } } },
      'GET /v1/mp/subscriptions': UNAVAILABLE,
    })
    const { page, loaded } = loadPage('bind', { scene: 'ABCDEFGH' })
    await loaded
    await page.instance.onSubmit()
    await settle()
    expect(text(page)).toContain('你已绑定为主播：主播12')
    expect(page.querySelector('.subscribe')).toBeFalsy()
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
  const HOST = { id: 'H001', name: '张三' }
  const AWARD = {
    list_id: 12, kind: 'top_influencers', kind_name: '十大电商达人', scope: 'campaign', scope_key: 'qcqh-xxxb-2026',
    title: '千村千红·湘西香伴 十大电商达人', rank: 3, category: '十大电商达人', amount_fen: 500000,
    state: 'notice', state_name: '公示中', notice_ends_on: '2026-12-08', updated_at: SERVER_TIME,
  }
  const HONOUR = {
    list_id: 7, kind: 'excellent_hosts', kind_name: '优秀主播', scope: 'year', scope_key: '2026',
    title: '2026 年度优秀主播', rank: 15, category: '优秀主播', amount_fen: 0,
    state: 'final', state_name: '已定稿', notice_ends_on: '2026-11-20', updated_at: '2026-11-21T01:00:00+00:00',
  }
  const awardsBody = (awards) => ({ body: { host: HOST, awards, updated_at: SERVER_TIME } })

  test('lists the host\'s awards: title, rank, amount in yuan, state; honour-only has no amount', async () => {
    const backend = fakeBackend({ 'GET /v1/mp/me/awards': awardsBody([AWARD, HONOUR]) })
    const { page, loaded } = loadPage('awards')
    await loaded
    expect(backend.calls.find((c) => c.url === '/v1/mp/me/awards').auth).toBe('Bearer mps_token1')
    const cards = page.querySelectorAll('.award').map((a) => a.dom.textContent.replace(/\s+/g, ' ').trim())
    expect(cards).toHaveLength(2)
    expect(cards[0]).toContain('千村千红·湘西香伴 十大电商达人')
    expect(cards[0]).toContain('十大电商达人 · 第 3 名')
    expect(cards[0]).toContain('5,000.00 元')
    expect(cards[0]).toContain('公示中')
    expect(cards[0]).toContain('公示期至 2026-12-08')
    expect(cards[1]).toContain('2026 年度优秀主播')
    expect(cards[1]).toContain('第 15 名')
    expect(cards[1]).toContain('荣誉称号')
    expect(cards[1]).toContain('已定稿')
    expect(cards[1]).not.toContain('元')
    expect(cards[1]).not.toContain('公示期至')
    const shown = text(page)
    expect(shown).toContain('张三的奖项')
    expect(shown).toContain('更新于 2026-12-01 18:14')
    expect(shown).not.toContain('暂无获奖记录')
  })

  test('no awards: a friendly empty state', async () => {
    fakeBackend({ 'GET /v1/mp/me/awards': awardsBody([]) })
    const { page, loaded } = loadPage('awards')
    await loaded
    expect(text(page)).toContain('暂无获奖记录，继续加油！')
    expect(page.querySelector('.award')).toBeFalsy()
  })

  test('not bound: asks to bind; after binding the next show lists the awards', async () => {
    const routes = { 'GET /v1/mp/me/awards': NOT_BOUND }
    fakeBackend(routes)
    const { page, loaded } = loadPage('awards')
    await loaded
    expect(text(page)).toContain('绑定主播身份后可查看你的奖项')
    page.querySelector('.go-bind').dispatchEvent('tap')
    await settle()
    expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/pages/bind/index' })

    routes['GET /v1/mp/me/awards'] = awardsBody([AWARD])
    await show(page)
    expect(text(page)).not.toContain('绑定主播身份后可查看你的奖项')
    expect(text(page)).toContain('5,000.00 元')
  })

  test('a network error shows 重试, which loads again', async () => {
    const routes = { 'GET /v1/mp/me/awards': { fail: true } }
    fakeBackend(routes)
    const { page, loaded } = loadPage('awards')
    await loaded
    expect(text(page)).toContain('网络异常，请检查网络后重试')
    expect(text(page)).not.toContain('暂无获奖记录')
    routes['GET /v1/mp/me/awards'] = awardsBody([HONOUR])
    page.querySelector('.retry').dispatchEvent('tap')
    await settle()
    expect(text(page)).toContain('荣誉称号')
    expect(page.querySelector('.retry')).toBeFalsy()
  })

  test('pull-down refresh reloads and stops the animation, on success and on failure', async () => {
    const routes = { 'GET /v1/mp/me/awards': awardsBody([]) }
    const backend = fakeBackend(routes)
    const { page, loaded } = loadPage('awards')
    await loaded
    routes['GET /v1/mp/me/awards'] = awardsBody([AWARD])
    await page.instance.onPullDownRefresh()
    expect(getCalls(backend, '/v1/mp/me/awards')).toBe(2)
    expect(text(page)).toContain('5,000.00 元')
    expect(wx.stopPullDownRefresh).toHaveBeenCalledTimes(1)

    routes['GET /v1/mp/me/awards'] = UNAVAILABLE
    await page.instance.onPullDownRefresh()
    expect(wx.stopPullDownRefresh).toHaveBeenCalledTimes(2)
    expect(text(page)).toContain('服务暂时不可用')
  })
})

test('a newer load wins over a slower older one', async () => {
  let slowFirst = true
  const routes = {
    'GET /v1/mp/me/awards': () => {
      if (slowFirst) { slowFirst = false; return { body: { host: { id: 'H1', name: '旧' }, awards: [] }, delay: 50 } }
      return { body: { host: { id: 'H1', name: '新' }, awards: [] } }
    },
  }
  fakeBackend(routes)
  const { page } = loadPage('awards')
  await settle(3)
  await show(page)
  await settle(80)
  expect(text(page)).toContain('新的奖项')
  expect(text(page)).not.toContain('旧的奖项')
})
