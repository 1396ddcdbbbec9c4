// The Liveboard API over wx.request. Logs in with wx.login when there is no token, and once
// more when the server says the session expired (401).
const config = require('../config')

const TOKEN_KEY = 'liveboard_token'

class ApiError extends Error {
  constructor(status, code, message) {
    super(message)
    this.status = status
    this.code = code
    // Worth a 重试 button: no answer (status 0: network, wx.login), busy (429) or a server error.
    this.retryable = status === 0 || status === 429 || status >= 500
  }
}

function send(method, path, data, token) {
  return new Promise((resolve, reject) => {
    const header = { 'Content-Type': 'application/json' }
    if (token) header.Authorization = `Bearer ${token}`
    wx.request({
      url: config.baseUrl + path,
      method,
      data,
      header,
      success: resolve,
      fail: () => reject(new ApiError(0, 'network', '网络异常，请检查网络后重试')),
    })
  })
}

function toError(res) {
  const err = (res.data && res.data.error) || {}
  return new ApiError(res.statusCode, err.code || 'http_error', err.message || '服务暂时不可用，请稍后重试')
}

function wxLogin() {
  return new Promise((resolve, reject) => {
    wx.login({
      success: (r) => (r.code ? resolve(r.code) : reject(new ApiError(0, 'login_failed', '微信登录失败，请重试'))),
      fail: () => reject(new ApiError(0, 'login_failed', '微信登录失败，请重试')),
    })
  })
}

async function login() {
  const code = await wxLogin()
  const res = await send('POST', '/v1/mp/login', { code })
  if (res.statusCode !== 200) throw toError(res)
  wx.setStorageSync(TOKEN_KEY, res.data.token)
  return res.data
}

async function request(method, path, data, { auth = true } = {}) {
  let token = auth ? wx.getStorageSync(TOKEN_KEY) : ''
  if (auth && !token) {
    await login()
    token = wx.getStorageSync(TOKEN_KEY)
  }
  let res = await send(method, path, data, token)
  if (auth && res.statusCode === 401) {
    await login()
    res = await send(method, path, data, wx.getStorageSync(TOKEN_KEY))
  }
  if (res.statusCode < 200 || res.statusCode >= 300) throw toError(res)
  return res.data
}

module.exports = {
  ApiError,
  TOKEN_KEY,
  login,
  get: (path, opts) => request('GET', path, undefined, opts),
  post: (path, data, opts) => request('POST', path, data, opts),
}
