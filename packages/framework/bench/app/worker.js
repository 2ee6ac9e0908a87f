// Benchmark worker: `setGet` and `publish` loops on this.exchange (`inFlight` at once, for
// `durationMs`); `watch`/`count` count the publications this worker's exchange receives.
const SCWorker = require("socketcluster/scworker")

const loop = async (durationMs, inFlight, op) => {
  let done = 0
  const start = Date.now()
  const end = start + durationMs
  await Promise.all(
    Array.from({ length: inFlight }, async (_, lane) => {
      for (let i = lane; Date.now() < end; i += inFlight) {
        await op(i)
        done++
      }
    })
  )
  return { done, perSecond: (done * 1000) / (Date.now() - start) }
}

class Worker extends SCWorker {
  run() {
    const exchange = this.exchange
    const call = (method, ...args) =>
      new Promise((resolve, reject) => exchange[method](...args, (e, v) => (e ? reject(e) : resolve(v))))
    let received = 0
    this.on("masterMessage", (data, respond) => {
      const reply = (promise) =>
        promise.then(
          (v) => respond(null, v),
          (e) => respond(e)
        )
      if (data.op === "setGet") {
        return reply(
          loop(data.durationMs, data.inFlight, async (i) => {
            const key = `k${i % 1000}`
            await call("set", key, { i, text: "hello" })
            await call("get", key)
          })
        )
      }
      if (data.op === "publish") {
        return reply(loop(data.durationMs, data.inFlight, (i) => call("publish", "bench", { i })))
      }
      if (data.op === "watch") {
        exchange.watch("bench", () => {
          received++
        })
        return exchange.subscribe("bench").on("subscribe", () => respond(null, true))
      }
      if (data.op === "count") respond(null, received)
    })
  }
}

new Worker()
