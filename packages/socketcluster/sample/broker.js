// A broker: holds the channels and data that hash to it.
const SCBroker = require("socketcluster/scbroker")

class Broker extends SCBroker {
  run() {
    console.log(`   >> Broker PID: ${process.pid}`)
  }
}

new Broker()
