/**
 * The "Node limit" target: a bare `ws` 8 server doing the SocketCluster v14 protocol
 * minimum and nothing else — handshake, `echo` acks, channel → sockets, each
 * publication encoded once and written to every subscriber, `#1` pings every 8 s.
 *
 * Self-contained (only `ws` and Node built-ins) so Node runs it directly with type
 * stripping: `node bare-ws.ts`.
 *
 * `BARE_WS_COALESCE` chooses how frames reach the kernel:
 * - unset / `off`: every frame is its own write (what `ws.send` does);
 * - `immediate`: the first frame for a socket in an event-loop turn corks its TCP socket,
 *   and a `setImmediate` uncorks every corked socket after the poll phase, so all frames
 *   queued for a socket during the turn leave in one `writev`, in order;
 * - `tick`: the same but uncorked on `process.nextTick`, i.e. after each I/O callback.
 */
import type { Duplex } from "node:stream"
import { type WebSocket, WebSocketServer } from "ws"

const port = Number(process.env.PORT ?? 8000)
const coalesce = process.env.BARE_WS_COALESCE ?? "off"
const pingIntervalMs = 8000

interface Peer {
  readonly ws: WebSocket
  readonly tcp: Duplex
  readonly id: string
  readonly channels: Set<string>
  corked: boolean
}

const channels = new Map<string, Set<Peer>>()
const peers = new Set<Peer>()
let socketCount = 0

const corkedPeers: Array<Peer> = []
let uncorkScheduled = false

const uncorkAll = (): void => {
  uncorkScheduled = false
  for (const peer of corkedPeers) {
    peer.corked = false
    peer.tcp.uncork()
  }
  corkedPeers.length = 0
}

const send = (peer: Peer, frame: Buffer): void => {
  if (coalesce !== "off" && !peer.corked) {
    peer.corked = true
    peer.tcp.cork()
    corkedPeers.push(peer)
    if (!uncorkScheduled) {
      uncorkScheduled = true
      if (coalesce === "tick") process.nextTick(uncorkAll)
      else setImmediate(uncorkAll)
    }
  }
  peer.ws.send(frame, { binary: false })
}

const sendJson = (peer: Peer, value: unknown): void => send(peer, Buffer.from(JSON.stringify(value)))

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null

const handlePacket = (peer: Peer, packet: unknown): void => {
  if (!isRecord(packet) || typeof packet.event !== "string") return
  const cid = packet.cid
  const data = packet.data
  switch (packet.event) {
    case "#handshake":
      sendJson(peer, { rid: cid, data: { id: peer.id, pingTimeout: 20000, isAuthenticated: false } })
      return
    case "echo":
      if (cid !== undefined) sendJson(peer, { rid: cid, data })
      return
    case "#subscribe": {
      const channel = isRecord(data) ? data.channel : data
      if (typeof channel === "string") {
        let subscribers = channels.get(channel)
        if (subscribers === undefined) {
          subscribers = new Set()
          channels.set(channel, subscribers)
        }
        subscribers.add(peer)
        peer.channels.add(channel)
      }
      if (cid !== undefined) sendJson(peer, { rid: cid })
      return
    }
    case "#unsubscribe":
      if (typeof data === "string") unsubscribe(peer, data)
      if (cid !== undefined) sendJson(peer, { rid: cid })
      return
    case "#publish": {
      if (isRecord(data) && typeof data.channel === "string") {
        const subscribers = channels.get(data.channel)
        if (subscribers !== undefined) {
          // Encoded once, the same bytes go to every subscriber.
          const frame = Buffer.from(
            JSON.stringify({ event: "#publish", data: { channel: data.channel, data: data.data } })
          )
          for (const subscriber of subscribers) send(subscriber, frame)
        }
      }
      if (cid !== undefined) sendJson(peer, { rid: cid })
      return
    }
    default:
      if (cid !== undefined) sendJson(peer, { rid: cid })
  }
}

const unsubscribe = (peer: Peer, channel: string): void => {
  const subscribers = channels.get(channel)
  if (subscribers === undefined) return
  subscribers.delete(peer)
  if (subscribers.size === 0) channels.delete(channel)
  peer.channels.delete(channel)
}

const server = new WebSocketServer({ port, host: "127.0.0.1", path: "/socketcluster/" }, () => {
  process.stdout.write(`bare-ws (coalesce=${coalesce}) listening on ${port}\n`)
})

server.on("connection", (ws, request) => {
  const peer: Peer = {
    ws,
    tcp: request.socket,
    id: `bare${(socketCount++).toString(36)}`,
    channels: new Set(),
    corked: false
  }
  peers.add(peer)
  ws.on("message", (message: Buffer) => {
    const text = message.toString()
    if (text === "#2") return
    let packet: unknown
    try {
      packet = JSON.parse(text)
    } catch {
      return
    }
    if (Array.isArray(packet)) for (const item of packet) handlePacket(peer, item)
    else handlePacket(peer, packet)
  })
  ws.on("close", () => {
    peers.delete(peer)
    for (const channel of peer.channels) unsubscribe(peer, channel)
  })
  ws.on("error", () => {})
})

const ping = Buffer.from("#1")
setInterval(() => {
  for (const peer of peers) send(peer, ping)
}, pingIntervalMs)
