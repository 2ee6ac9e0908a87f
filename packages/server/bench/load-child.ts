/**
 * A child process holding many lean raw `ws` SocketCluster clients for the hardening
 * scripts (soak, handshake storm). Driven over IPC:
 *
 * - `{ cmd: "connect", port, count, channels, concurrency, token? }`: opens `count` sockets (at
 *   most `concurrency` handshakes in flight, each offering `token` when given), each
 *   subscribed to `soak-<i % channels>` when `channels > 0`; answers `{ type: "connected", ms, failed }`.
 * - `{ cmd: "rpc", perSecond }`: steady `echo` RPCs spread over the clients; `{ cmd: "quiet" }` stops them.
 * - `{ cmd: "stats" }`: answers `{ type: "stats", ... }` (and resets the RPC latency window).
 * - `{ cmd: "close" }`: closes every socket and exits.
 *
 * Publications must carry `{ s: <sequence per channel> }`; each client checks its own
 * sequence: a gap is a lost message, a step back an out-of-order one.
 */
import WebSocket from "ws"

interface Lean {
  readonly ws: WebSocket
  nextCid: number
  lastSeq: number
  readonly pending: Map<number, number>
}

const clients: Array<Lean> = []
let received = 0
let lost = 0
let outOfOrder = 0
let closedUnexpectedly = 0
let rpcSent = 0
let rpcAnswered = 0
let rpcErrors = 0
let latencies: Array<number> = []
let closing = false

const send = (message: unknown) => process.send?.(message)

const onFrame = (client: Lean, text: string) => {
  if (text === "#1") return client.ws.send("#2")
  if (text.startsWith('{"event":"#publish"')) {
    const packet = JSON.parse(text) as { data: { data: { s: number } } }
    const seq = packet.data.data.s
    received++
    if (client.lastSeq >= 0) {
      if (seq > client.lastSeq + 1) lost += seq - client.lastSeq - 1
      else if (seq <= client.lastSeq) outOfOrder++
    }
    client.lastSeq = seq
    return
  }
  if (text.startsWith('{"rid":')) {
    const packet = JSON.parse(text) as { rid: number; error?: unknown }
    const sentAt = client.pending.get(packet.rid)
    if (sentAt === undefined) return
    client.pending.delete(packet.rid)
    if (packet.rid >= 1000) {
      rpcAnswered++
      if (packet.error !== undefined) rpcErrors++
      latencies.push(performance.now() - sentAt)
    }
  }
}

/** Opens one client, handshakes and subscribes; resolves when the last answer arrived. */
const open = (port: number, channel: string | undefined, token: string | undefined) =>
  new Promise<Lean>((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/socketcluster/`, { perMessageDeflate: false })
    const client: Lean = { ws, nextCid: 1000, lastSeq: -1, pending: new Map() }
    let stage = 0
    ws.on("open", () => ws.send(JSON.stringify({ event: "#handshake", data: { authToken: token ?? null }, cid: 1 })))
    ws.on("message", (data: Buffer) => {
      const text = data.toString()
      if (stage === 0 && text.startsWith('{"rid":1,')) {
        stage = 1
        if (channel === undefined) return resolve(client)
        ws.send(JSON.stringify({ event: "#subscribe", data: { channel }, cid: 2 }))
        return
      }
      if (stage === 1 && text.startsWith('{"rid":2')) {
        stage = 2
        return resolve(client)
      }
      onFrame(client, text)
    })
    ws.on("error", (error) => reject(error))
    ws.on("close", () => {
      if (!closing) closedUnexpectedly++
      if (stage < 2) reject(new Error("closed during handshake"))
    })
  })

const connect = async (
  port: number,
  count: number,
  channels: number,
  concurrency: number,
  token: string | undefined
) => {
  const started = performance.now()
  let next = 0
  let failed = 0
  const worker = async () => {
    while (next < count) {
      const i = next++
      try {
        clients.push(await open(port, channels > 0 ? `soak-${i % channels}` : undefined, token))
      } catch {
        failed++
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  send({ type: "connected", ms: performance.now() - started, failed, open: clients.length })
}

let rpcTimer: ReturnType<typeof setInterval> | undefined
const startRpc = (perSecond: number) => {
  let cursor = 0
  const perTick = Math.max(1, Math.round(perSecond / 10))
  rpcTimer = setInterval(() => {
    for (let i = 0; i < perTick && clients.length > 0; i++) {
      const client = clients[cursor++ % clients.length]!
      if (client.ws.readyState !== WebSocket.OPEN) continue
      const cid = client.nextCid++
      client.pending.set(cid, performance.now())
      client.ws.send(`{"event":"echo","data":${cid},"cid":${cid}}`)
      rpcSent++
    }
  }, 100)
}

const quantile = (values: Array<number>, q: number) => {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!
}

process.on("message", (message: { readonly cmd: string; readonly token?: string } & Record<string, number>) => {
  switch (message.cmd) {
    case "connect":
      void connect(message.port!, message.count!, message.channels ?? 0, message.concurrency ?? 100, message.token)
      return
    case "rpc":
      startRpc(message.perSecond!)
      return
    case "quiet":
      if (rpcTimer !== undefined) clearInterval(rpcTimer)
      return
    case "stats": {
      let pendingRpcs = 0
      for (const c of clients) pendingRpcs += c.pending.size
      send({
        type: "stats",
        open: clients.filter((c) => c.ws.readyState === WebSocket.OPEN).length,
        received,
        lost,
        outOfOrder,
        closedUnexpectedly,
        rpcSent,
        rpcAnswered,
        rpcErrors,
        pendingRpcs,
        rpcP50: quantile(latencies, 0.5),
        rpcP99: quantile(latencies, 0.99),
        rpcMax: latencies.reduce((m, v) => Math.max(m, v), 0)
      })
      latencies = []
      return
    }
    case "close":
      closing = true
      if (rpcTimer !== undefined) clearInterval(rpcTimer)
      for (const c of clients) c.ws.terminate()
      setImmediate(() => process.exit(0))
  }
})
send({ type: "ready" })
