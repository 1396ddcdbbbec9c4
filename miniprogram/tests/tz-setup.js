// Run every test on a "phone" far from Beijing (UTC-8/-7), so any time shown through the
// local zone instead of utils/format.beijingTime would fail the page tests. Set before the
// test workers start, because Jest sandboxes process.env inside a test file.
module.exports = () => {
  process.env.TZ = 'America/Los_Angeles'
}
