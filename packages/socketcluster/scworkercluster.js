// `require('socketcluster/scworkercluster')`: the worker-cluster base class.
module.exports = require("@effect-socketcluster/framework").SCWorkerCluster
