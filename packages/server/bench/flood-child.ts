/**
 * The clients of bench/flood.ts, in their own process so that the server's RSS is the
 * server's: one subscriber reading at full speed, and one publisher sending `count`
 * `#publish` frames of 4 KiB as fast as its socket takes them, never waiting for acks.
 * Driven over IPC: `{ port, count }` in, `{ type: "done", received, acks, ackErrors, ms }` out.
 */
import WebSocket from "ws"

const body = "x".repeat(4 * 1024 - 64)

const open = (port: number, onText: (text: string, ws: WebSocket) => void) =>
  new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/socketcluster/`, { perMessageDeflate: false })
    ws.on("message", (data: Buffer) => {
      const text = data.toString()
      if (text === "#1") return ws.send("#2")
      if (text.startsWith('{"rid":1,')) return resolve(ws)
      onText(text, ws)
    })
    ws.once("error", reject)
    ws.once("open", () => ws.send('{"event":"#handshake","data":{},"cid":1}'))
  })

process.once("message", async ({ port, count }: { readonly port: number; readonly count: number }) => {
  let received = 0
  let acks = 0
  let ackErrors = 0
  let subscribed: () => void = () => {}
  const started = performance.now()
  const finish = () => {
    if (received < count || acks < count) return
    process.send?.({ type: "done", received, acks, ackErrors, ms: performance.now() - started })
    setImmediate(() => process.exit(0))
  }
  const subscriber = await open(port, (text) => {
    if (text.startsWith('{"rid":2')) return subscribed()
    if (text.startsWith('{"event":"#publish"')) received++
    finish()
  })
  await new Promise<void>((resolve) => {
    subscribed = resolve
    subscriber.send('{"event":"#subscribe","data":{"channel":"flood"},"cid":2}')
  })
  const publisher = await open(port, (text) => {
    if (!text.startsWith('{"rid":')) return
    acks++
    if (text.includes('"error"')) ackErrors++
    finish()
  })
  let s = 0
  const pump = () => {
    // As fast as the socket takes them: keep a few MiB queued in this process, never wait for an ack.
    while (s < count && publisher.bufferedAmount < 4 * 1024 * 1024) {
      publisher.send(
        `{"event":"#publish","data":{"channel":"flood","data":{"s":${s},"body":"${body}"}},"cid":${s + 10}}`
      )
      s++
    }
    if (s < count) setImmediate(pump)
  }
  pump()
})
process.on("disconnect", () => process.exit(0))
process.send?.({ type: "ready" })
