// Probe broker: middleware (blocked*/mutate* channels), a `message` listener on broker 0
// only, an `exec` that can be switched off, and what its singleton/middleware checks threw.
const fs = require("node:fs")
const path = require("node:path")
const SCBroker = require("socketcluster/scbroker")

const describe = (e) => ({ name: e.name, message: e.message })

class Broker extends SCBroker {
  async run() {
    // A test that wants this broker down for a while writes hold-b<id>: the broker then
    // waits for the master's "release" before it listens.
    const hold = path.join(__dirname, `hold-b${this.id}`)
    if (fs.existsSync(hold)) {
      fs.rmSync(hold)
      await new Promise((resolve) =>
        this.on("masterMessage", (data, respond) => {
          if (data === "release") resolve(respond(null, "released"))
        })
      )
    }
    const checks = {}
    try {
      this.addMiddleware("bogus", () => {})
    } catch (e) {
      checks.bogus = describe(e)
    }
    try {
      new SCBroker()
    } catch (e) {
      checks.second = describe(e)
    }
    this.addMiddleware(this.MIDDLEWARE_SUBSCRIBE, (req, next) => {
      if (!req.channel.startsWith("blocked")) return next()
      const error = new Error(`Blocked ${req.channel}`)
      error.name = "MyBlock"
      error.extra = 42
      next(error)
    })
    this.addMiddleware(this.MIDDLEWARE_PUBLISH_IN, (req, next) => {
      if (req.channel.startsWith("mutate")) req.command.value = "mutated"
      next()
    })
    if (this.id === 0) this.on("message", (data, respond) => respond(null, { broker: this.id, got: data }))
    this.on("masterMessage", (data, respond) => {
      if (data === "silent") return
      if (data !== null && typeof data === "object" && "get" in data)
        return respond(null, { value: this.dataMap.get(data.get) })
      if (data === "failExec") this.failExec = true
      if (data === "fixExec") this.failExec = false
      respond(null, {
        id: this.id,
        instanceId: this.instanceId,
        brokers: this.options.brokers,
        debugPort: this.debugPort,
        processDebugPort: process.debugPort,
        ...checks
      })
    })
  }

  exec(query, baseKey) {
    if (this.failExec) throw new Error("exec switched off")
    return super.exec(query, baseKey)
  }
}

new Broker()
