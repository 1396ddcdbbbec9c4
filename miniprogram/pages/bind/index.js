const api = require('../../utils/api')
const subscribe = require('../../utils/subscribe')

// A scanned mini-program code opens this page with scene = the binding code.
function codeFromOptions(options) {
  if (!options || !options.scene) return ''
  try {
    return decodeURIComponent(options.scene)
  } catch (e) {
    return ''
  }
}

Component({
  data: {
    code: '',
    submitting: false,
    error: '',
    host: null,
    subscribeIds: [],
    subscribed: false,
  },
  methods: {
    onLoad(options) {
      this.setData({ code: codeFromOptions(options) })
    },
    onInput(e) {
      this.setData({ code: e.detail.value, error: '' })
    },
    async onSubmit() {
      const code = (this.data.code || '').trim()
      if (!code) return this.setData({ error: '请输入绑定码' })
      this.setData({ submitting: true, error: '' })
      try {
        const { host } = await api.post('/v1/mp/bind', { code })
        // The code is used up now: a failure to read the reminder templates must not look like a failed bind.
        const templates = await subscribe.loadTemplates(['rank', 'award', 'milestone']).catch(() => ({ ids: [], credits: 0 }))
        this.setData({ host, submitting: false, subscribeIds: templates.ids, subscribed: templates.credits > 0 })
      } catch (e) {
        this.setData({ submitting: false, error: e.message })
      }
    },
    // Right after binding, on the user's tap: ask for rank, award and milestone reminders.
    onSubscribe() {
      return subscribe.ask(this.data.subscribeIds).then((accepted) => {
        if (accepted.length) this.setData({ subscribed: true })
        this.goMe()
      }, (e) => wx.showToast({ title: e.message, icon: 'none' })) // the bind form (and its error line) is gone by now
    },
    goMe() {
      wx.switchTab({ url: '/pages/me/index' })
    },
  },
})
