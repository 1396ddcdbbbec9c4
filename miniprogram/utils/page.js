// What the data pages (排行榜, 我的, 奖项) share: the error state with its 重试 button, ending the
// pull-down refresh animation, and dropping the answer of a load that a newer one replaced.
const { ApiError } = require('./api')

// data for a failed load: the message to show and whether 重试 may help.
function errorState(e) {
  if (e instanceof ApiError) return { loading: false, error: e.message, retryable: e.retryable }
  // not from the API (e.g. an unexpected response shape): say so plainly and let them retry
  return { loading: false, error: '数据加载失败，请稍后重试', retryable: true }
}

function stopRefresh() {
  if (typeof wx.stopPullDownRefresh === 'function') wx.stopPullDownRefresh()
}

// Every onShow, pull-down and 重试 starts a load; only the newest may write to the page.
function nextLoad(component) {
  component._loadSeq = (component._loadSeq || 0) + 1
  const seq = component._loadSeq
  return () => seq === component._loadSeq
}

module.exports = { errorState, stopRefresh, nextLoad }
