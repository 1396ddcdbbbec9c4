// Where the Liveboard API lives. Set baseUrl to the deployed HTTPS domain (it must also be
// listed under the mini-program's "request 合法域名").
module.exports = {
  baseUrl: 'https://liveboard.example.gov.cn',
}
