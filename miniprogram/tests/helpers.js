// A scripted Liveboard API behind wx.request (a route may answer { fail: true } for a network
// error, and { delay: ms } to answer late), and a loader for pages (Component-built).
const path = require('path')
const simulate = require('miniprogram-simulate')
const config = require('../config')

const ROOT = path.join(__dirname, '..')

function fakeBackend(routes) {
  const calls = []
  const storage = {}
  let logins = 0
  wx.login = jest.fn(({ success }) => success({ code: `code-${++logins}` }))
  wx.getStorageSync = jest.fn((key) => storage[key] || '')
  wx.setStorageSync = jest.fn((key, value) => { storage[key] = value })
  wx.requestSubscribeMessage = jest.fn()
  wx.navigateTo = jest.fn()
  wx.switchTab = jest.fn()
  wx.showToast = jest.fn()
  wx.stopPullDownRefresh = jest.fn()
  wx.request = jest.fn((opts) => {
    const url = opts.url.slice(config.baseUrl.length)
    const call = { method: opts.method, url, data: opts.data, auth: (opts.header || {}).Authorization }
    calls.push(call)
    const route = routes[`${opts.method} ${url}`] || routes[`${opts.method} ${url.split('?')[0]}`]
    const reply = typeof route === 'function' ? route(call) : route
    setTimeout(() => {
      if (!reply) return opts.success({ statusCode: 404, data: { error: { code: 'not_found', message: '资源不存在' } } })
      if (reply.fail) return opts.fail({ errMsg: 'request:fail timeout' }) // no answer: network down
      opts.success({ statusCode: reply.status || 200, data: reply.body })
    }, (reply && reply.delay) || 0)
  })
  routes['POST /v1/mp/login'] = routes['POST /v1/mp/login'] || (() => ({ body: { token: `mps_token${logins}` } }))
  return { calls, storage }
}

// simulate.load runs the page's JS through require(), which runs it only once per test file:
// load each page once and render a fresh instance per test.
const loadedIds = {}

function loadPage(name, options) {
  if (!loadedIds[name]) loadedIds[name] = simulate.load(path.join(ROOT, 'pages', name, 'index'), { rootPath: ROOT })
  const page = simulate.render(loadedIds[name])
  page.attach(document.createElement('parent-wrapper'))
  // as WeChat does when a page opens: onLoad, then onShow
  const loaded = Promise.resolve(page.instance.onLoad && page.instance.onLoad(options || {}))
    .then(() => page.instance.onShow && page.instance.onShow())
  return { page, loaded: loaded.then(() => settle()) }
}

// The user comes back to the page (switches tab, returns from another page).
async function show(page) {
  await page.instance.onShow()
  await settle()
}

// Let every scripted request (each answers on a timer) and its follow-ups finish.
async function settle(rounds = 20) {
  for (let i = 0; i < rounds; i++) await simulate.sleep(1)
}

function text(page) {
  return page.dom.textContent.replace(/\s+/g, ' ')
}

module.exports = { fakeBackend, loadPage, show, settle, text, simulate }
