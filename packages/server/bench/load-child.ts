/**
 * A child process holding many lean raw `ws` SocketCluster clients for the hardening
 * scripts (soak, handshake storm). Driven over IPC:
 *
 * - `{ cmd: "connect", port, count, channels, concurrency, token? }`: opens `count` sockets (at
 *   most `concurrency` handshakes in flight, each offering `token` when given), each
 *   subscribed to `soak-<i % channels>` when `channels > 0`; answers `{ type: "connected", ms, failed }`.
 * - `{ cmd: "rpc", perSecond }`: steady `echo` RPCs spread over the clients.
 * - `{ cmd: "publish", perSecond }`: one publisher socket per channel (opened now) sends
 *   `#publish` `{ s: <sequence> }` with an ack, round robin over the channels; answers
 *   `{ type: "publishing" }`.
 * - `{ cmd: "churn", perSecond }`: replaces that many subscribers a second: a random one
 *   closes (1000) and a new socket handshakes and subscribes to the next channel.
 * - `{ cmd: "quiet" }`: stops RPCs, publications and churn.
 * - `{ cmd: "stats" }`: answers `{ type: "stats", ... }` (and resets the RPC latency window).
 * - `{ cmd: "close" }`: closes every socket and exits.
 *
 * Publications carry `{ s: <sequence per channel> }` and each subscriber checks its own
 * sequence: a gap is a lost message, a step back an out-of-order one. With the publishers
 * here a subscriber also knows where its stream must start: every publication sent after
 * its subscription was acknowledged must reach it (the server handled the subscribe
 * first), and `stats` counts as `behind` what an open subscriber still misses of what was
 * sent (0 once everything arrived). With publications from elsewhere (the server) only
 * gaps are seen.
 */
import WebSocket from "ws"

interface Lean {
  readonly ws: WebSocket
  nextCid: number
  lastSeq: number
  /** The channel's index, or -1 for a socket without a subscription. */
  readonly channel: number
  /** The first sequence number this subscriber must receive (-1: unknown). */
  mustFrom: number
  leaving: boolean
  readonly pending: Map<number, number>
}

let port = 0
let channelCount = 0
let token: string | undefined
const clients: Array<Lean> = []
let received = 0
let lost = 0
let outOfOrder = 0
let closedUnexpectedly = 0
let rpcSent = 0
let rpcAnswered = 0
let rpcErrors = 0
let rpcAbandoned = 0
let latencies: Array<number> = []
let closing = false
let churned = 0
let churnFailed = 0
let nextChannel = 0
// Publications this process sent, per channel (the next sequence number), and their acks.
let sent: Array<number> = []
let published = 0
let publishAcked = 0
let publishErrors = 0
const publishers: Array<Lean> = []

const send = (message: unknown) => process.send?.(message)

const onPublication = (client: Lean, seq: number) => {
  received++
  if (client.lastSeq < 0) {
    if (client.mustFrom >= 0 && seq > client.mustFrom) lost += seq - client.mustFrom
  } else if (seq > client.lastSeq + 1) lost += seq - client.lastSeq - 1
  else if (seq <= client.lastSeq) outOfOrder++
  client.lastSeq = Math.max(seq, client.lastSeq)
}

const onFrame = (client: Lean, text: string) => {
  if (text === "#1") return client.ws.send("#2")
  if (text.startsWith('{"event":"#publish"')) {
    const packet = JSON.parse(text) as { data: { data: { s: number } } }
    return onPublication(client, packet.data.data.s)
  }
  if (text.startsWith('{"rid":')) {
    const packet = JSON.parse(text) as { rid: number; error?: unknown }
    const sentAt = client.pending.get(packet.rid)
    if (sentAt === undefined) return
    client.pending.delete(packet.rid)
    if (client.channel === -2) {
      publishAcked++
      if (packet.error !== undefined) publishErrors++
    } else if (packet.rid >= 1000) {
      rpcAnswered++
      if (packet.error !== undefined) rpcErrors++
      latencies.push(performance.now() - sentAt)
    }
  }
}

/**
 * Opens one client and handshakes; subscribes to `soak-<channel>` when `channel >= 0`
 * (-2 marks a publisher); resolves when the last answer arrived.
 */
const open = (channel: number) =>
  new Promise<Lean>((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/socketcluster/`, { perMessageDeflate: false })
    const client: Lean = { ws, nextCid: 1000, lastSeq: -1, channel, mustFrom: -1, leaving: false, pending: new Map() }
    let stage = 0
    ws.on("open", () => ws.send(JSON.stringify({ event: "#handshake", data: { authToken: token ?? null }, cid: 1 })))
    ws.on("message", (data: Buffer) => {
      const text = data.toString()
      if (stage === 0 && text.startsWith('{"rid":1,')) {
        stage = 1
        if (channel < 0) {
          stage = 2
          return resolve(client)
        }
        ws.send(JSON.stringify({ event: "#subscribe", data: { channel: `soak-${channel}` }, cid: 2 }))
        return
      }
      if (stage === 1 && text.startsWith('{"rid":2')) {
        stage = 2
        if (sent.length > 0) client.mustFrom = sent[channel] ?? 0
        return resolve(client)
      }
      onFrame(client, text)
    })
    ws.on("error", (error) => reject(error))
    ws.on("close", () => {
      if (!closing && !client.leaving) closedUnexpectedly++
      if (stage < 2) reject(new Error("closed during handshake"))
    })
  })

const connect = async (count: number, concurrency: number) => {
  const started = performance.now()
  let next = 0
  let failed = 0
  const worker = async () => {
    while (next < count) {
      next++
      try {
        clients.push(await open(channelCount > 0 ? nextChannel++ % channelCount : -1))
      } catch {
        failed++
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  send({ type: "connected", ms: performance.now() - started, failed, open: clients.length })
}

const timers: Array<ReturnType<typeof setInterval>> = []

/**
 * How many operations a tick of `everyMs` owes to keep `perSecond` on average: rounding each
 * tick up to one would run a 20/s rate at 100/s on a 10 ms tick.
 */
const quota = (perSecond: number, everyMs: number): (() => number) => {
  let credit = 0
  return () => {
    credit += (perSecond * everyMs) / 1000
    const whole = Math.floor(credit)
    credit -= whole
    return whole
  }
}

const startRpc = (perSecond: number) => {
  let cursor = 0
  const due = quota(perSecond, 100)
  timers.push(
    setInterval(() => {
      for (let i = 0, n = due(); i < n && clients.length > 0; i++) {
        const client = clients[cursor++ % clients.length]!
        if (client.ws.readyState !== WebSocket.OPEN) continue
        const cid = client.nextCid++
        client.pending.set(cid, performance.now())
        client.ws.send(`{"event":"echo","data":${cid},"cid":${cid}}`)
        rpcSent++
      }
    }, 100)
  )
}

const startPublishing = async (perSecond: number) => {
  sent = new Array<number>(channelCount).fill(0)
  for (let c = 0; c < channelCount; c++) publishers.push(await open(-2))
  // Subscribers that are already in know their stream starts at 0.
  for (const client of clients) if (client.channel >= 0) client.mustFrom = 0
  let cursor = 0
  // Small steady steps (every 10 ms), not bursts: a soak measures a sustainable load.
  const due = quota(perSecond, 10)
  timers.push(
    setInterval(() => {
      for (let i = 0, n = due(); i < n; i++) {
        const c = cursor++ % channelCount
        const publisher = publishers[c]!
        if (publisher.ws.readyState !== WebSocket.OPEN) continue
        const cid = publisher.nextCid++
        publisher.pending.set(cid, 0)
        publisher.ws.send(`{"event":"#publish","data":{"channel":"soak-${c}","data":{"s":${sent[c]!++}}},"cid":${cid}}`)
        published++
      }
    }, 10)
  )
  send({ type: "publishing" })
}

const startChurn = (perSecond: number) => {
  const due = quota(perSecond, 100)
  timers.push(
    setInterval(() => {
      for (let i = 0, n = due(); i < n && clients.length > 0; i++) {
        const index = Math.floor(Math.random() * clients.length)
        const leaving = clients[index]!
        clients[index] = clients[clients.length - 1]!
        clients.pop()
        leaving.leaving = true
        rpcAbandoned += leaving.pending.size
        leaving.ws.close(1000)
        churned++
        open(channelCount > 0 ? nextChannel++ % channelCount : -1).then(
          (client) => {
            if (closing) client.ws.terminate()
            else clients.push(client)
          },
          () => churnFailed++
        )
      }
    }, 100)
  )
}

const quantile = (values: Array<number>, q: number) => {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!
}

/** What open subscribers still miss of what this process sent. */
const behind = (): number => {
  if (sent.length === 0) return 0
  let missing = 0
  for (const client of clients) {
    if (client.channel < 0 || client.ws.readyState !== WebSocket.OPEN) continue
    const last = sent[client.channel]! - 1
    const from = client.lastSeq >= 0 ? client.lastSeq + 1 : Math.max(0, client.mustFrom)
    if (last >= from) missing += last - from + 1
  }
  return missing
}

process.on("message", (message: { readonly cmd: string; readonly token?: string } & Record<string, number>) => {
  switch (message.cmd) {
    case "connect":
      port = message.port!
      channelCount = message.channels ?? 0
      token = message.token
      void connect(message.count!, message.concurrency ?? 100)
      return
    case "rpc":
      startRpc(message.perSecond!)
      return
    case "publish":
      void startPublishing(message.perSecond!)
      return
    case "churn":
      startChurn(message.perSecond!)
      return
    case "quiet":
      for (const timer of timers.splice(0)) clearInterval(timer)
      return
    case "stats": {
      let pendingRpcs = 0
      for (const c of clients) pendingRpcs += c.pending.size
      let pendingPublishes = 0
      for (const p of publishers) pendingPublishes += p.pending.size
      send({
        type: "stats",
        open: clients.filter((c) => c.ws.readyState === WebSocket.OPEN).length,
        received,
        lost,
        outOfOrder,
        behind: behind(),
        closedUnexpectedly,
        churned,
        churnFailed,
        published,
        publishAcked,
        publishErrors,
        pendingPublishes,
        rpcSent,
        rpcAnswered,
        rpcErrors,
        rpcAbandoned,
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
      for (const timer of timers.splice(0)) clearInterval(timer)
      for (const c of [...clients, ...publishers]) c.ws.terminate()
      setImmediate(() => process.exit(0))
  }
})
send({ type: "ready" })
// The driving script is gone (killed, crashed): do not linger holding thousands of sockets.
process.on("disconnect", () => process.exit(0))
