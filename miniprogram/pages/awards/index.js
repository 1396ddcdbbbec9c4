const api = require('../../utils/api')
const { yuan } = require('../../utils/format')

Component({
  data: {
    loading: true,
    error: '',
    notBound: false,
    awards: [],
  },
  methods: {
    onLoad() {
      return this.load()
    },
    async load() {
      try {
        const data = await api.get('/v1/mp/me/awards')
        const awards = data.awards.map((a) => ({ ...a, amount: yuan(a.amount_fen) }))
        this.setData({ loading: false, error: '', notBound: false, awards })
      } catch (e) {
        if (e.code === 'not_bound') return this.setData({ loading: false, notBound: true })
        this.setData({ loading: false, error: e.message })
      }
    },
    goBind() {
      wx.navigateTo({ url: '/pages/bind/index' })
    },
  },
})
