// Test app master: options from the environment; every master event as one JSON line on stdout.
const path = require("node:path")
const SocketCluster = require("socketcluster")

const socketCluster = new SocketCluster({
  workers: Number(process.env.WORKERS) || 2,
  brokers: Number(process.env.BROKERS) || 2,
  port: Number(process.env.PORT),
  host: "127.0.0.1",
  logLevel: 0,
  environment: process.env.ENV || "prod",
  processTermTimeout: 3000,
  customThing: "hello",
  redisUrl: process.env.REDIS_URL || null,
  workerController: path.join(__dirname, "worker.js"),
  brokerController: path.join(__dirname, "broker.js")
})

const line = (event, value) => console.log(JSON.stringify({ event, ...value }))
for (const event of ["workerStart", "workerExit", "brokerStart", "brokerExit"]) {
  socketCluster.on(event, (info) => line(event, info))
}
socketCluster.on("workerClusterStart", (info) => line("workerClusterStart", { pid: info.pid }))
socketCluster.on("ready", () => line("ready", {}))
socketCluster.on("fail", (error) => line("fail", { message: error.message, origin: error.origin }))
socketCluster.on("warning", (error) => line("warning", { message: error.message }))
socketCluster.on("workerMessage", (workerId, data, respond) => {
  // {relay: "worker" | "broker", to, payload}: the master passes it on and reports what came back.
  const report = (error, answer, id) => respond(null, { error: error ? error.message : null, answer, id })
  if (data && data.relay === "worker") return socketCluster.sendToWorker(data.to, data.payload, report)
  if (data && data.relay === "broker") return socketCluster.sendToBroker(data.to, data.payload, report)
  respond(null, { workerId, echo: data })
})
