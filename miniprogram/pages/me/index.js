const api = require('../../utils/api')
const subscribe = require('../../utils/subscribe')
const { yuan, movement, beijingTime } = require('../../utils/format')
const { errorState, stopRefresh, nextLoad } = require('../../utils/page')

function card(period, title) {
  if (!period || !period.ranked) return { title, ranked: false }
  return {
    title,
    ranked: true,
    rank: period.rank,
    amount: yuan(period.net_gmv_fen),
    mv: movement(period),
    inTop10: period.in_top10,
    gapAbove: period.gap_to_above_fen == null ? '' : yuan(period.gap_to_above_fen),
    gapTop10: yuan(period.gap_to_top10_fen),
    updatedAt: beijingTime(period.updated_at),
  }
}

// The subscribe prompt is an extra: if its state cannot be read, the rank still shows.
function templatesOrNone() {
  return subscribe.loadTemplates(['rank']).catch(() => ({ ids: [], credits: 0 }))
}

Component({
  data: {
    loading: true,
    error: '',
    retryable: false,
    bound: false,
    host: null,
    campaign: null,
    noCampaign: false,
    cards: [],
    days: [],
    subscribeIds: [],
    credits: 0,
  },
  methods: {
    onLoad(options) {
      this.slug = (options && options.campaign) || ''
    },
    // Every time the tab is shown: binding happens on another page, and ranks move.
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
        const me = await api.get('/v1/mp/me')
        if (!current()) return
        if (!me.bound) {
          return this.setData({ loading: false, bound: false, host: null, campaign: null, cards: [], days: [] })
        }
        const { campaigns } = await api.get('/v1/mp/me/campaigns')
        if (!current()) return
        const slug = this.data.campaign ? this.data.campaign.slug : this.slug
        const campaign = campaigns.find((c) => c.slug === slug) || campaigns[0] || null
        if (!campaign) {
          return this.setData({ loading: false, bound: true, host: me.host, campaign: null, noCampaign: true, cards: [], days: [] })
        }
        const [rank, daily, templates] = await Promise.all([
          api.get(`/v1/mp/me/campaigns/${campaign.slug}/rank`),
          api.get(`/v1/mp/me/campaigns/${campaign.slug}/daily`),
          templatesOrNone(),
        ])
        if (!current()) return
        const max = Math.max(1, ...daily.days.map((d) => d.net_gmv_fen))
        this.setData({
          loading: false,
          error: '',
          bound: true,
          host: me.host,
          campaign,
          noCampaign: false,
          cards: [card(rank.periods.campaign, '活动累计'), card(rank.periods.today, '今日')],
          days: daily.days.map((d) => ({
            day: d.day.slice(5), amount: yuan(d.net_gmv_fen), width: Math.max(0, Math.round((d.net_gmv_fen / max) * 100)),
          })),
          subscribeIds: templates.ids,
          credits: templates.credits,
        })
      } catch (e) {
        if (current()) this.setData(errorState(e))
      }
    },
    // On a tap, as WeChat requires: ask for the rank-change reminder. Each consent is good for
    // one message, so the prompt comes back once it has been used.
    onSubscribe() {
      return subscribe.ask(this.data.subscribeIds).then((accepted) => {
        if (accepted.length) {
          this.setData({ credits: this.data.credits + 1 })
          wx.showToast({ title: '已开启排名提醒', icon: 'success' })
        }
      }, (e) => wx.showToast({ title: e.message, icon: 'none' }))
    },
    goBind() {
      wx.navigateTo({ url: '/pages/bind/index' })
    },
  },
})
