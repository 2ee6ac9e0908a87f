// Probe worker: the health-check plugin, exec and exchange probes, error reporting, a close
// that can be made to hang, and master messaging that can stay unanswered.
const SCWorker = require("socketcluster/scworker")
const express = require("express")
const healthChecker = require("sc-framework-health-check")

const describe = (e) =>
  e == null ? null : typeof e === "object" ? { name: e.name, message: e.message, extra: e.extra } : e

// v14 injects `data` variables only into `function (` sources (given here as source text,
// which exec accepts too, since the formatter would turn a function expression into an arrow).
const queries = {
  greet: ["function (dm) { return greeting + '!' }", { greeting: "hi" }],
  namedGreet: [
    function named(_dm) {
      return `${greeting}!`
    },
    { greeting: "hi" }
  ],
  arrowGreet: [(_dm) => `${greeting}!`, { greeting: "hi" }],
  typeError: [
    () => {
      throw new TypeError("bad")
    }
  ],
  string: [
    () => {
      throw "oops"
    }
  ],
  everywhere: [Object.assign((dm, de, subs) => typeof dm.get + typeof de.expire + typeof subs, { mapIndex: "*" })]
}

class Worker extends SCWorker {
  run() {
    let second = null
    try {
      new SCWorker()
    } catch (e) {
      second = describe(e)
    }
    const app = express()
    healthChecker.attach(this, app)
    this.httpServer.on("request", app)
    const exchange = this.exchange
    this.on("masterMessage", (data, respond) => {
      if (data === "silent") return
      if (data === "hang") this.hangClose = true
      respond(null, { worker: this.id, got: data })
    })
    this.scServer.on("connection", (socket) => {
      socket.on("whoami", (_, respond) =>
        respond(null, { id: this.id, pid: process.pid, second, debugPort: process.debugPort })
      )
      socket.on("exec", (name, respond) => {
        const [fn, data] = queries[name]
        const done = (e, v) => respond(null, { error: describe(e), value: v })
        try {
          if (data === undefined) exchange.exec(fn, done)
          else exchange.exec(fn, data, done)
        } catch (e) {
          respond(null, { thrown: describe(e) })
        }
      })
      socket.on("badVariable", (_, respond) => {
        try {
          exchange.exec(
            () => {},
            { "a-b": 1 },
            () => respond(null, { thrown: null })
          )
        } catch (e) {
          respond(null, { thrown: describe(e) })
        }
      })
      // [method, ...args] on the exchange -> what its callback got.
      socket.on("call", ([method, ...args], respond) =>
        exchange[method](...args, (e, v) => respond(null, { error: describe(e), value: v }))
      )
      socket.on("trySubscribe", (channel, respond) => {
        const ch = exchange.subscribe(channel)
        const state = ch.state
        let fromExchange
        const onFail = (e, name) => {
          if (name === channel) fromExchange = describe(e)
        }
        exchange.on("subscribeFail", onFail)
        // The channel's event comes first, then the exchange's.
        ch.on("subscribeFail", (e) =>
          setImmediate(() => {
            exchange.off("subscribeFail", onFail)
            respond(null, { state, after: ch.state, fromChannel: describe(e), fromExchange })
          })
        )
        ch.on("subscribe", () => respond(null, { state, after: ch.state }))
      })
      // Subscribes, watches, publishes "original": what the watcher and the publish callback got.
      socket.on("publishWatched", (channel, respond) => {
        let watched
        let echoed
        const finish = () => {
          if (watched !== undefined && echoed !== undefined) respond(null, { watched, echoed })
        }
        exchange.watch(channel, (data) => {
          watched = data
          finish()
        })
        exchange.subscribe(channel).on("subscribe", () =>
          exchange.publish(channel, "original", (e, value) => {
            echoed = e ? describe(e) : value
            finish()
          })
        )
      })
      // exchange.map before and after setMapper(() => 1), and where set("foo") goes then.
      socket.on("mapper", (_, respond) => {
        const ids = (key, method) => exchange.map(key, method).map((client) => client.id)
        const before = { foo: ids("foo", "set"), bar: ids("bar", "set"), all: ids(null, "publish") }
        const original = exchange.getMapper()
        const one = () => 1
        exchange.setMapper(one)
        const after = { foo: ids("foo", "set"), chanB: ids("chanB", "publish"), same: exchange.getMapper() === one }
        exchange.set("foo", "mapped", (e) =>
          exchange.get("foo", (e2, value) => {
            exchange.setMapper(original)
            respond(null, { before, after, error: describe(e || e2), value })
          })
        )
      })
      socket.on("askMaster", (data, respond) =>
        this.sendToMaster(data, (e, answer) => respond(null, { error: describe(e), answer }))
      )
      socket.on("emitError", (message, respond) => {
        this.emit("error", new Error(message))
        respond(null, { pid: process.pid })
      })
    })
  }

  close(callback) {
    if (this.hangClose) return
    super.close(callback)
  }
}

new Worker()
