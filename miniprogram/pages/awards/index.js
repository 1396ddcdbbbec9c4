const api = require('../../utils/api')
const { yuan, beijingTime } = require('../../utils/format')
const { errorState, stopRefresh, nextLoad } = require('../../utils/page')

const STATE_NAMES = { notice: '公示中', final: '已定稿' }

// One award of GET /v1/mp/me/awards as shown. amount_fen 0 is an honour without money.
function award(a, i) {
  const honour = !a.amount_fen
  return {
    key: `${a.list_id}-${a.category || ''}-${a.rank}-${i}`,
    title: a.title || a.kind_name || '',
    category: a.category || a.kind_name || '',
    rank: typeof a.rank === 'number' ? a.rank : null,
    honour,
    amountText: honour ? '荣誉称号' : `${yuan(a.amount_fen)} 元`,
    state: a.state === 'final' ? 'final' : 'notice',
    stateName: a.state_name || STATE_NAMES[a.state] || '',
    // a date (YYYY-MM-DD) is shown as it is; a full time would be converted to Beijing time
    noticeEnds: a.state === 'notice' && a.notice_ends_on
      ? (/^\d{4}-\d{2}-\d{2}$/.test(a.notice_ends_on) ? a.notice_ends_on : beijingTime(a.notice_ends_on)) : '',
  }
}

Component({
  data: {
    loading: true,
    error: '',
    retryable: false,
    notBound: false,
    host: null,
    awards: [],
    updatedAt: '',
  },
  methods: {
    // Every time the tab is shown: the host may have just bound, or a list may have been published.
    onShow() {
      return this.load()
    },
    onPullDownRefresh() {
      return this.load().then(stopRefresh, stopRefresh)
    },
    onRetry() {
      this.setData({ loading: true, error: '' })
      return this.load()
    },
    async load() {
      const current = nextLoad(this)
      if (this.data.error) this.setData({ loading: true, error: '' })
      try {
        const data = await api.get('/v1/mp/me/awards')
        if (!current()) return
        if (!data.host) return this.setData({ loading: false, error: '', notBound: true, host: null, awards: [] })
        this.setData({
          loading: false,
          error: '',
          notBound: false,
          host: data.host,
          awards: (data.awards || []).map(award),
          updatedAt: beijingTime(data.updated_at),
        })
      } catch (e) {
        if (!current()) return
        if (e.code === 'not_bound') return this.setData({ loading: false, error: '', notBound: true, host: null, awards: [] })
        this.setData(errorState(e))
      }
    },
    goBind() {
      wx.navigateTo({ url: '/pages/bind/index' })
    },
  },
})
