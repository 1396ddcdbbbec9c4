const fs = require('fs')
const path = require('path')

const ROOT = path.join(__dirname, '..')
const app = require('../app.json')

test('lists the four pages in Chinese', () => {
  expect(app.pages).toEqual(['pages/boards/index', 'pages/me/index', 'pages/bind/index', 'pages/awards/index'])
  expect(app.tabBar.list.map((t) => t.text)).toEqual(['排行榜', '我的', '奖项'])
})

test('every tab has an 81×81 PNG icon and a selected one', () => {
  for (const tab of app.tabBar.list) {
    for (const icon of [tab.iconPath, tab.selectedIconPath]) {
      expect(icon).toMatch(/^images\/tab\/.+\.png$/)
      const png = fs.readFileSync(path.join(ROOT, icon))
      expect(png.slice(1, 4).toString()).toBe('PNG')
      expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([81, 81])
      expect(png.length).toBeLessThan(40 * 1024) // WeChat's limit for tab icons
    }
    expect(tab.iconPath).not.toBe(tab.selectedIconPath)
  }
})

test('pull-down refresh is enabled on every data page', () => {
  for (const name of ['boards', 'me', 'awards']) {
    expect(require(`../pages/${name}/index.json`).enablePullDownRefresh).toBe(true)
  }
})
