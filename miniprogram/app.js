// Pages are built with Component() (supported for pages since base library 2.x) so that
// miniprogram-simulate can load and test them; shared logic lives in utils/.
App({})
