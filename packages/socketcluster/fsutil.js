// `require('socketcluster/fsutil')`: fileExists and waitForFile.
module.exports = require("@effect-socketcluster/framework").fsutil
