// Benchmark master (plain socketcluster@14 API, run unchanged on the framework and on the
// original): workers 2, brokers 1; once ready it has worker 0 run get/set round trips
// and publications that worker 1 watches, then prints one JSON line and exits.
const path = require("node:path")
const SocketCluster = require("socketcluster")

const durationMs = Number(process.env.DURATION_MS || 3000)
const inFlight = Number(process.env.IN_FLIGHT || 64)
const sc = new SocketCluster({
  workers: 2,
  brokers: 1,
  port: Number(process.env.PORT),
  host: "127.0.0.1",
  logLevel: 1,
  environment: "prod",
  ipcAckTimeout: 120000,
  redisUrl: process.env.REDIS_URL || null,
  workerController: path.join(__dirname, "worker.js")
})

const ask = (worker, data) =>
  new Promise((resolve, reject) => sc.sendToWorker(worker, data, (e, value) => (e ? reject(e) : resolve(value))))

sc.on("ready", async () => {
  const setGet = await ask(0, { op: "setGet", durationMs, inFlight })
  await ask(1, { op: "watch" })
  const publish = await ask(0, { op: "publish", durationMs, inFlight })
  // Every publication was acknowledged by the broker; wait until worker 1 saw them all (5 s at most).
  const deadline = Date.now() + 5000
  let delivered = 0
  while (Date.now() < deadline) {
    delivered = await ask(1, { op: "count" })
    if (delivered >= publish.done) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  console.log(
    JSON.stringify({
      roundTripsPerSecond: Math.round(setGet.perSecond * 2),
      publicationsPerSecond: Math.round(publish.perSecond),
      published: publish.done,
      delivered
    })
  )
  process.exit(0)
})
