// Test app broker: answers exchange.send with its id.
const SCBroker = require("socketcluster/scbroker")

class Broker extends SCBroker {
  run() {
    this.on("masterMessage", (data, respond) => respond(null, { broker: this.id, got: data }))
    this.on("message", (data, respond) =>
      respond(null, { broker: this.id, got: data, custom: this.options.customThing })
    )
  }
}

new Broker()
