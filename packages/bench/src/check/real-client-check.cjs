// Checks a target once with the real socketcluster-client 14.3.2 before it is measured:
// handshake, an `echo` ack, and subscribe + publish with the delivery seen by the watcher.
// Run as a child process: `node --no-experimental-websocket real-client-check.cjs PORT`
// (on Node >= 22 the v14 client would otherwise use the global WebSocket instead of `ws`).
// Prints `ok` and exits 0, or prints the reason and exits 1. Bounded by a 10 s timer.
"use strict"
const socketClusterClient = require("socketcluster-client")

const port = Number(process.argv[2])
const timer = setTimeout(() => fail(new Error("timed out after 10 s")), 10000)

const client = socketClusterClient.create({
  hostname: "127.0.0.1",
  port,
  autoReconnect: false,
  multiplex: false,
  ackTimeout: 5000
})
client.on("error", (error) => fail(error))

function fail(error) {
  process.stdout.write(`real client check failed: ${error?.message ?? error}\n`)
  process.exit(1)
}

function emit(event, data) {
  return new Promise((resolve, reject) =>
    client.emit(event, data, (error, answer) => (error ? reject(error) : resolve(answer)))
  )
}

client.once("connect", async (status) => {
  try {
    if (typeof status.id !== "string" || status.id.length === 0) throw new Error("handshake gave no socket id")
    const sent = { text: "héllo", list: [1, 2, 3], nested: { ok: true } }
    const echoed = await emit("echo", sent)
    if (JSON.stringify(echoed) !== JSON.stringify(sent)) throw new Error(`echo returned ${JSON.stringify(echoed)}`)
    const channel = client.subscribe("bench-check")
    await new Promise((resolve, reject) => {
      channel.once("subscribe", resolve)
      channel.once("subscribeFail", reject)
    })
    const delivered = new Promise((resolve) => channel.watch(resolve))
    await new Promise((resolve, reject) =>
      client.publish("bench-check", { n: 42 }, (error) => (error ? reject(error) : resolve()))
    )
    const data = await delivered
    if (data?.n !== 42) throw new Error(`delivery carried ${JSON.stringify(data)}`)
    clearTimeout(timer)
    client.disconnect()
    process.stdout.write("ok\n")
    process.exit(0)
  } catch (error) {
    fail(error)
  }
})
