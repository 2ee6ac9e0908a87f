// The master: starts the brokers, then the workers sharing the port.
// SOCKETCLUSTER_WORKERS, SOCKETCLUSTER_BROKERS, SOCKETCLUSTER_PORT and ENV configure it.
const path = require("node:path")
const SocketCluster = require("socketcluster")

const socketCluster = new SocketCluster({
  workers: Number(process.env.SOCKETCLUSTER_WORKERS) || 1,
  brokers: Number(process.env.SOCKETCLUSTER_BROKERS) || 1,
  port: Number(process.env.SOCKETCLUSTER_PORT) || 8000,
  appName: process.env.SOCKETCLUSTER_APP_NAME || null,
  environment: process.env.ENV || "dev",
  workerController: path.join(__dirname, "worker.js"),
  brokerController: path.join(__dirname, "broker.js")
})

socketCluster.on(socketCluster.EVENT_WORKER_CLUSTER_START, (info) => {
  console.log(`   >> WorkerCluster PID: ${info.pid}`)
})
socketCluster.on(socketCluster.EVENT_READY, () => {
  console.log(`   >> Serving http://localhost:${socketCluster.options.port}`)
})
