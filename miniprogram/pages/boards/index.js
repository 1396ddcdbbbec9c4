const api = require('../../utils/api')
const { yuan, movement } = require('../../utils/format')

Component({
  data: {
    loading: true,
    error: '',
    campaign: null,
    period: 'campaign',
    board: 'hosts',
    rows: [],
    updatedAt: '',
  },
  methods: {
    onLoad(options) {
      return this.load((options && options.campaign) || '')
    },
    onPullDownRefresh() {
      return this.refresh().then(() => wx.stopPullDownRefresh && wx.stopPullDownRefresh())
    },
    async load(slug) {
      try {
        const { campaigns } = await api.get('/v1/campaigns', { auth: false })
        const campaign = campaigns.find((c) => c.slug === slug) || campaigns[0] || null
        this.setData({ campaign })
        if (!campaign) return this.setData({ loading: false, error: '暂无进行中的活动' })
        await this.refresh()
      } catch (e) {
        this.setData({ loading: false, error: e.message })
      }
    },
    async refresh() {
      const { campaign, period, board } = this.data
      if (!campaign) return
      try {
        const data = await api.get(`/v1/campaigns/${campaign.slug}/boards?period=${period}`, { auth: false })
        const rows = (data[board] || []).map((e) => ({
          id: e.id, rank: e.rank, name: e.name, amount: yuan(e.net_gmv_fen), movement: movement(e.movement),
        }))
        this.setData({ loading: false, error: '', rows, updatedAt: data.updated_at || '' })
      } catch (e) {
        this.setData({ loading: false, error: e.message })
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
