// `require('socketcluster')`: the master class, as socketcluster@14 exports it.
const framework = require("@effect-socketcluster/framework")

module.exports = framework.SocketCluster
