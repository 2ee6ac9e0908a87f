/**
 * The lean SocketCluster client used for load: handshake, emits with a cid and a
 * callback for the answer, subscribe, publish without a cid, the ping answer of its
 * protocol (v1, socketcluster-client 14: `#2` on `#1`; v2, clients 15–20: an empty frame
 * on an empty frame, the other ping ignored as those clients do), and a fast path for the
 * frames that dominate a benchmark (answers and `#publish` deliveries), read straight
 * from the bytes without `JSON.parse`. Neither mode tells the server its protocol: like
 * the real clients, it is detected from the pongs.
 *
 * Publications carry `{"c":<channel index>,"s":<sequence>}` so a delivery can be
 * checked without decoding it.
 */
import { inFlightPool } from "./in-flight-pool.js"
import { connectWebSocket, type Source, type WsConnection } from "./ws-connection.js"

/** Fails the run: a target answered with an error or something unreadable. */
export class ScProtocolError extends Error {
  override readonly name = "ScProtocolError"
}

/** Called with the raw answer frame; `failed` is true when it carries an `error`. */
export type AnswerCallback = (payload: Buffer, failed: boolean) => void

const ridPrefix = Buffer.from('{"rid":')
const publishMarker = Buffer.from('"#publish"')
const channelKey = Buffer.from('"c":')
const sequenceKey = Buffer.from('"s":')
const errorKey = Buffer.from('"error"')

// Byte searches in plain JS: the frames are short, and a native `Buffer.indexOf` per
// frame (four per delivery) was the generator's largest self time in its profile.
const matchesAt = (payload: Buffer, needle: Buffer, at: number): boolean => {
  if (at < 0 || at + needle.length > payload.length) return false
  for (let i = 0; i < needle.length; i++) if (payload[at + i] !== needle[i]) return false
  return true
}

/** The first index below `before` where `needle` starts, or -1. */
const indexBefore = (payload: Buffer, needle: Buffer, before: number): number => {
  const last = Math.min(before, payload.length - needle.length + 1)
  for (let at = 0; at < last; at++) if (matchesAt(payload, needle, at)) return at
  return -1
}

/** The last index where `needle` starts, or -1. */
const lastIndex = (payload: Buffer, needle: Buffer): number => {
  for (let at = payload.length - needle.length; at >= 0; at--) if (matchesAt(payload, needle, at)) return at
  return -1
}

/** Reads the unsigned integer written at `offset` (JSON digits). */
export const readInteger = (payload: Buffer, offset: number): number => {
  let value = 0
  for (let i = offset; i < payload.length; i++) {
    const digit = payload[i]! - 48
    if (digit < 0 || digit > 9) break
    value = value * 10 + digit
  }
  return value
}

/**
 * Answers nobody asked for (unknown or repeated cids) seen since the last reset; a
 * scenario reads and clears it, and fails when it is not empty.
 */
export const unexpectedAnswers: Array<string> = []

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null

/** The SocketCluster protocol a load client speaks. */
export type Protocol = 1 | 2

export class ScClient {
  private nextCid = 1
  private readonly pending = new Map<number, AnswerCallback>()
  /** Pings of its protocol answered so far, and when the last one was (`performance.now()`). */
  pongs = 0
  lastPongAt = 0
  /** When the handshake answer arrived (`performance.now()`). */
  handshakeAt = 0
  /** Called after each pong is sent. */
  onPong: () => void = () => {}
  /** Receives every `#publish` delivery's channel index and sequence number. */
  onDelivery: (channelIndex: number, sequence: number) => void = () => {}

  constructor(
    readonly connection: WsConnection,
    readonly protocol: Protocol = 1
  ) {
    connection.onText = (payload) => this.receive(payload)
  }

  /** Emits `event` with a cid; `callback` gets the answer. `data` may be built from the cid. */
  request(event: string, data: string | ((cid: number) => string), callback: AnswerCallback): number {
    const cid = this.nextCid++
    this.pending.set(cid, callback)
    const dataJson = typeof data === "string" ? data : data(cid)
    this.connection.sendText(`{"event":"${event}","data":${dataJson},"cid":${cid}}`)
    return cid
  }

  requestAsync(event: string, dataJson: string): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.request(event, dataJson, (payload, failed) => {
        if (failed) reject(new ScProtocolError(`${event} failed: ${payload.toString()}`))
        else resolve(payload)
      })
    })
  }

  /** Publishes without a cid: no answer, as a fire-and-forget publisher would. */
  publish(channel: string, dataJson: string): void {
    this.connection.sendText(`{"event":"#publish","data":{"channel":"${channel}","data":${dataJson}}}`)
  }

  subscribe(channel: string): Promise<Buffer> {
    return this.requestAsync("#subscribe", `{"channel":"${channel}"}`)
  }

  /** Unsubscribes with a cid, so the answer says the server has processed it. */
  unsubscribe(channel: string): Promise<Buffer> {
    return this.requestAsync("#unsubscribe", `"${channel}"`)
  }

  get outstanding(): number {
    return this.pending.size
  }

  close(): void {
    this.connection.close()
  }

  private receive(payload: Buffer): void {
    if (payload.length === 0) {
      if (this.protocol === 2) this.pong("")
      return
    }
    if (payload.length === 2 && payload[0] === 0x23 && payload[1] === 0x31) {
      if (this.protocol === 1) this.pong("#2")
      return
    }
    if (matchesAt(payload, ridPrefix, 0)) {
      this.answer(readInteger(payload, ridPrefix.length), payload, payload.indexOf(errorKey) !== -1)
      return
    }
    if (indexBefore(payload, publishMarker, 16) !== -1) {
      const channelAt = lastIndex(payload, channelKey)
      const sequenceAt = lastIndex(payload, sequenceKey)
      if (channelAt !== -1 && sequenceAt > channelAt) {
        this.onDelivery(
          readInteger(payload, channelAt + channelKey.length),
          readInteger(payload, sequenceAt + sequenceKey.length)
        )
        return
      }
    }
    this.receiveSlow(payload)
  }

  private pong(frame: string): void {
    this.pongs++
    this.lastPongAt = performance.now()
    this.connection.sendText(frame)
    this.onPong()
  }

  /** Anything the fast paths do not recognise (other key orders, batches, server events). */
  private receiveSlow(payload: Buffer): void {
    let packet: unknown
    try {
      packet = JSON.parse(payload.toString())
    } catch {
      return
    }
    for (const item of Array.isArray(packet) ? packet : [packet]) {
      if (!isRecord(item)) continue
      if (item.event === "#publish" && isRecord(item.data) && isRecord(item.data.data)) {
        const { c, s } = item.data.data
        if (typeof c === "number" && typeof s === "number") this.onDelivery(c, s)
      } else if (typeof item.rid === "number") {
        this.answer(item.rid, Buffer.from(JSON.stringify(item)), item.error !== undefined)
      }
    }
  }

  private answer(rid: number, payload: Buffer, failed: boolean): void {
    const callback = this.pending.get(rid)
    if (callback === undefined) {
      if (unexpectedAnswers.length < 100) unexpectedAnswers.push(`answer for unknown cid ${rid}: ${payload.toString()}`)
      return
    }
    this.pending.delete(rid)
    callback(payload, failed)
  }
}

/** Connects and completes the `#handshake`; rejects if the server refuses it. */
export const openClient = async (
  port: number,
  path: string,
  protocol: Protocol = 1,
  source?: Source
): Promise<ScClient> => {
  const client = new ScClient(await connectWebSocket(port, path, source), protocol)
  const answer = await client.requestAsync("#handshake", '{"authToken":null}')
  if (answer.indexOf('"id"') === -1) throw new ScProtocolError(`handshake answer without id: ${answer.toString()}`)
  client.handshakeAt = performance.now()
  return client
}

/**
 * Opens `count` clients, at most `concurrency` handshakes in flight (a bounded, steady
 * arrival). With `source`, client i connects from `source.address`, port `source.port + i`.
 */
export const openClients = async (
  port: number,
  path: string,
  count: number,
  concurrency: number,
  protocol: Protocol = 1,
  source?: Source
): Promise<Array<ScClient>> => {
  const clients: Array<ScClient> = new Array(count)
  await inFlightPool(count, concurrency, async (index) => {
    clients[index] = await openClient(
      port,
      path,
      protocol,
      source === undefined ? undefined : { address: source.address, port: source.port + index }
    )
  })
  return clients
}
