// The `--protocol 2` counterpart of real-client-check.cjs: the same checks (handshake, an
// `echo` ack, subscribe + publish with the delivery seen) with the real
// socketcluster-client 20.0.2, which speaks protocol v2. Run as a child process:
// `node real-client-check-v2.cjs PORT`; prints `ok` and exits 0, or the reason and exits 1.
"use strict"
const socketClusterClient = require("socketcluster-client-20")

const port = Number(process.argv[2])
const timer = setTimeout(() => fail(new Error("timed out after 10 s")), 10000)

function fail(error) {
  process.stdout.write(`real client (v20) check failed: ${error?.message ?? error}\n`)
  process.exit(1)
}

const client = socketClusterClient.create({ hostname: "127.0.0.1", port, autoReconnect: false, ackTimeout: 5000 })
;(async () => {
  for await (const { error } of client.listener("error")) fail(error)
})()

;(async () => {
  const status = await client.listener("connect").once()
  if (typeof status.id !== "string" || status.id.length === 0) throw new Error("handshake gave no socket id")
  const sent = { text: "héllo", list: [1, 2, 3], nested: { ok: true } }
  const echoed = await client.invoke("echo", sent)
  if (JSON.stringify(echoed) !== JSON.stringify(sent)) throw new Error(`echo returned ${JSON.stringify(echoed)}`)
  const channel = client.subscribe("bench-check")
  await channel.listener("subscribe").once()
  const delivered = (async () => {
    for await (const data of channel) return data
  })()
  await client.invokePublish("bench-check", { n: 42 })
  const data = await delivered
  if (data?.n !== 42) throw new Error(`delivery carried ${JSON.stringify(data)}`)
  clearTimeout(timer)
  client.disconnect()
  process.stdout.write("ok\n")
  process.exit(0)
})().catch(fail)
