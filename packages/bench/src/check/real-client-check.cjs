// Checks a target once with a real socketcluster-client before it is measured: handshake,
// an `echo` ack, and subscribe + publish with the delivery seen by the subscriber.
// Run as a child process: `node --no-experimental-websocket real-client-check.cjs PORT [PROTOCOL]`
// — PROTOCOL 1 (default) uses socketcluster-client 14.3.2, PROTOCOL 2 uses 20.0.2. (On
// Node >= 22 the v14 client would otherwise use the global WebSocket instead of `ws`.)
// Prints `ok` and exits 0, or prints the reason and exits 1. Bounded by a 10 s timer.
"use strict"

const port = Number(process.argv[2])
const protocol = process.argv[3] === "2" ? 2 : 1
const label = protocol === 2 ? "real client (v20) check" : "real client check"
const timer = setTimeout(() => fail(new Error("timed out after 10 s")), 10000)

function fail(error) {
  process.stdout.write(`${label} failed: ${error?.message ?? error}\n`)
  process.exit(1)
}

// The two clients' APIs (v14: callbacks and events; v20: promises and async iterables),
// each behind the same few operations the check needs.
const v14 = () => {
  const client = require("socketcluster-client").create({
    hostname: "127.0.0.1",
    port,
    autoReconnect: false,
    multiplex: false,
    ackTimeout: 5000
  })
  client.on("error", fail)
  return {
    connected: () => new Promise((resolve) => client.once("connect", resolve)),
    invoke: (event, data) =>
      new Promise((resolve, reject) =>
        client.emit(event, data, (error, answer) => (error ? reject(error) : resolve(answer)))
      ),
    subscribe: async (name) => {
      const channel = client.subscribe(name)
      await new Promise((resolve, reject) => {
        channel.once("subscribe", resolve)
        channel.once("subscribeFail", reject)
      })
      return { next: () => new Promise((resolve) => channel.watch(resolve)) }
    },
    publish: (name, data) =>
      new Promise((resolve, reject) => client.publish(name, data, (error) => (error ? reject(error) : resolve()))),
    disconnect: () => client.disconnect()
  }
}

const v20 = () => {
  const client = require("socketcluster-client-20").create({
    hostname: "127.0.0.1",
    port,
    autoReconnect: false,
    ackTimeout: 5000
  })
  ;(async () => {
    for await (const { error } of client.listener("error")) fail(error)
  })()
  return {
    connected: () => client.listener("connect").once(),
    invoke: (event, data) => client.invoke(event, data),
    subscribe: async (name) => {
      const channel = client.subscribe(name)
      await channel.listener("subscribe").once()
      return {
        next: async () => {
          for await (const data of channel) return data
        }
      }
    },
    publish: (name, data) => client.invokePublish(name, data),
    disconnect: () => client.disconnect()
  }
}

const check = async (client) => {
  const status = await client.connected()
  if (typeof status.id !== "string" || status.id.length === 0) throw new Error("handshake gave no socket id")
  const sent = { text: "héllo", list: [1, 2, 3], nested: { ok: true } }
  const echoed = await client.invoke("echo", sent)
  if (JSON.stringify(echoed) !== JSON.stringify(sent)) throw new Error(`echo returned ${JSON.stringify(echoed)}`)
  const channel = await client.subscribe("bench-check")
  const delivered = channel.next()
  await client.publish("bench-check", { n: 42 })
  const data = await delivered
  if (data?.n !== 42) throw new Error(`delivery carried ${JSON.stringify(data)}`)
  clearTimeout(timer)
  client.disconnect()
  process.stdout.write("ok\n")
  process.exit(0)
}

check(protocol === 2 ? v20() : v14()).catch(fail)
