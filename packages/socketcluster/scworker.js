// `require('socketcluster/scworker')`: the worker base class.
module.exports = require("@effect-socketcluster/framework").SCWorker
