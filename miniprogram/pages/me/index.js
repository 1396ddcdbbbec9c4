const api = require('../../utils/api')
const subscribe = require('../../utils/subscribe')
const { yuan, movement } = require('../../utils/format')

function card(period, title) {
  if (!period || !period.ranked) return { title, ranked: false }
  return {
    title,
    ranked: true,
    rank: period.rank,
    amount: yuan(period.net_gmv_fen),
    movement: movement(period.movement),
    inTop10: period.in_top10,
    gapAbove: period.gap_to_above_fen === null ? '' : yuan(period.gap_to_above_fen),
    gapTop10: yuan(period.gap_to_top10_fen),
  }
}

Component({
  data: {
    loading: true,
    error: '',
    bound: false,
    host: null,
    campaign: null,
    cards: [],
    days: [],
    subscribeIds: [],
    subscribed: false,
  },
  methods: {
    onLoad(options) {
      return this.load((options && options.campaign) || '')
    },
    async load(slug) {
      try {
        const me = await api.get('/v1/mp/me')
        this.setData({ bound: me.bound, host: me.host })
        if (!me.bound) return this.setData({ loading: false })
        const { campaigns } = await api.get('/v1/mp/me/campaigns')
        const campaign = campaigns.find((c) => c.slug === slug) || campaigns[0] || null
        this.setData({ campaign })
        if (!campaign) return this.setData({ loading: false, error: '暂无进行中的活动' })
        const [rank, daily, templates] = await Promise.all([
          api.get(`/v1/mp/me/campaigns/${campaign.slug}/rank`),
          api.get(`/v1/mp/me/campaigns/${campaign.slug}/daily`),
          subscribe.loadTemplates(['rank']),
        ])
        const max = Math.max(1, ...daily.days.map((d) => d.net_gmv_fen))
        this.setData({
          loading: false,
          error: '',
          cards: [card(rank.periods.campaign, '活动累计'), card(rank.periods.today, '今日')],
          days: daily.days.map((d) => ({
            day: d.day.slice(5), amount: yuan(d.net_gmv_fen), width: Math.max(0, Math.round((d.net_gmv_fen / max) * 100)),
          })),
          subscribeIds: templates.ids,
          subscribed: templates.credits > 0,
        })
      } catch (e) {
        this.setData({ loading: false, error: e.message })
      }
    },
    // On a tap, as WeChat requires: ask for the rank-change reminder.
    onSubscribe() {
      return subscribe.ask(this.data.subscribeIds).then((accepted) => {
        if (accepted.length) {
          this.setData({ subscribed: true })
          wx.showToast({ title: '已开启排名提醒', icon: 'success' })
        }
      }, (e) => this.setData({ error: e.message }))
    },
    goBind() {
      wx.navigateTo({ url: '/pages/bind/index' })
    },
  },
})
