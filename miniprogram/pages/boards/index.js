const api = require('../../utils/api')
const { yuan, movement, beijingTime } = require('../../utils/format')
const { errorState, stopRefresh, nextLoad } = require('../../utils/page')

Component({
  data: {
    loading: true,
    error: '',
    retryable: false,
    campaign: null,
    period: 'campaign',
    board: 'hosts',
    rows: [],
    updatedAt: '',
  },
  methods: {
    onLoad(options) {
      this.slug = (options && options.campaign) || ''
    },
    // Every time the tab is shown, so a host coming back sees the current board.
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
        const { campaigns } = await api.get('/v1/campaigns', { auth: false })
        if (!current()) return
        const slug = this.data.campaign ? this.data.campaign.slug : this.slug
        const campaign = campaigns.find((c) => c.slug === slug) || campaigns[0] || null
        this.setData({ campaign })
        if (!campaign) return this.setData({ loading: false, error: '暂无进行中的活动', retryable: false })
        await this.fetchBoard(current)
      } catch (e) {
        if (current()) this.setData(errorState(e))
      }
    },
    async fetchBoard(current) {
      const { campaign, period, board } = this.data
      const data = await api.get(`/v1/campaigns/${campaign.slug}/boards?period=${period}`, { auth: false })
      if (!current()) return
      const rows = (data[board] || []).map((e) => ({
        id: e.id, rank: e.rank, name: e.name, amount: yuan(e.net_gmv_fen), mv: movement(e),
      }))
      this.setData({ loading: false, error: '', rows, updatedAt: beijingTime(data.updated_at) })
    },
    // Switching period or board fetches that board only (the campaign is already known).
    async refresh() {
      if (!this.data.campaign) return this.load()
      const current = nextLoad(this)
      try {
        await this.fetchBoard(current)
      } catch (e) {
        if (current()) this.setData(errorState(e))
      }
    },
    switchPeriod(e) {
      this.setData({ period: e.currentTarget.dataset.period })
      return this.refresh()
    },
    switchBoard(e) {
      this.setData({ board: e.currentTarget.dataset.board })
      return this.refresh()
    },
  },
})
