// Probe master: every master event as a JSON line on stdout; commands as JSON lines on stdin
// ({n, cmd, args}) answered with {event: "reply", n, ...}.
const path = require("node:path")
const readline = require("node:readline")
const SocketCluster = require("socketcluster")

const line = (event, value) => console.log(JSON.stringify({ event, ...value }))
const describe = (e) =>
  e == null ? null : typeof e === "object" ? { name: e.name, message: e.message, extra: e.extra } : e

const options = (more) => ({
  workers: 1,
  brokers: 2,
  port: Number(process.env.PORT),
  host: "127.0.0.1",
  logLevel: 0,
  environment: "dev",
  ipcAckTimeout: 1000,
  crashWorkerOnError: false,
  rebootWorkerOnCrash: false,
  forceKillTimeout: 1000,
  brokerConnectRetryErrorThreshold: 2,
  processTermTimeout: 20000,
  workerController: path.join(__dirname, "worker.js"),
  brokerController: path.join(__dirname, "broker.js"),
  ...more
})

const start = (more) => {
  const sc = new SocketCluster(options(more))
  for (const event of ["workerStart", "workerExit", "brokerStart", "brokerExit"]) sc.on(event, (i) => line(event, i))
  sc.on("workerClusterExit", (i) => line("workerClusterExit", { pid: i.pid, code: i.code }))
  sc.on("ready", () => line("ready", { killMasterOnSignal: sc.options.killMasterOnSignal }))
  sc.on("fail", (e) => line("fail", { ...describe(e), origin: e.origin, signal: e.signal, code: e.code }))
  sc.on("warning", (e) => line("warning", { ...describe(e), origin: e.origin, signal: e.signal, code: e.code }))
  sc.on("workerMessage", (workerId, data, respond) => {
    if (data !== "silent") respond(null, { workerId, echo: data })
  })
  return sc
}

let sc = start({})
try {
  new SocketCluster(options({}))
} catch (e) {
  line("singleton", describe(e))
}

const commands = {
  sendToWorker: (reply, id, data) =>
    sc.sendToWorker(id, data, (e, d, extra) => reply({ error: describe(e), data: d, extra })),
  sendToBroker: (reply, id, data) =>
    sc.sendToBroker(id, data, (e, d, extra) => reply({ error: describe(e), data: d, extra })),
  killWorkers: (reply, o) => reply({ done: sc.killWorkers(o) === undefined }),
  // destroy(cb), then a new master in the same process (the singleton was cleared).
  destroyAndRestart: (reply, more) => {
    const before = sc
    before.destroy(() => {
      const listeners = before.eventNames().length
      sc = start(more)
      reply({ listeners, restarted: true })
    })
  }
}

readline.createInterface({ input: process.stdin }).on("line", (text) => {
  const { n, cmd, args } = JSON.parse(text)
  commands[cmd]((value) => line("reply", { n, ...value }), ...(args || []))
})
