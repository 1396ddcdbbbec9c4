// Subscribe messages. wx.requestSubscribeMessage only works inside a tap handler, so pages
// load the template ids first (loadTemplates) and ask synchronously on the tap (ask).
const api = require('./api')

async function loadTemplates(kinds) {
  const state = await api.get('/v1/mp/subscriptions')
  const templates = state.templates.filter((t) => kinds.indexOf(t.kind) >= 0)
  return {
    ids: templates.map((t) => t.template_id),
    credits: templates.reduce((n, t) => n + (state.credits[t.template_id] || 0), 0),
  }
}

function ask(ids) {
  return new Promise((resolve) => {
    if (!ids || !ids.length) return resolve([])
    wx.requestSubscribeMessage({
      tmplIds: ids,
      success: (result) => resolve(ids.filter((id) => result[id] === 'accept')),
      fail: () => resolve([]),
    })
  }).then((accepted) => (accepted.length ? api.post('/v1/mp/subscriptions', { template_ids: accepted }).then(() => accepted) : accepted))
}

module.exports = { loadTemplates, ask }
