// `require('socketcluster/scbroker')`: the broker base class.
module.exports = require("@effect-socketcluster/framework").SCBroker
