/**
 * Who is subscribed to what in this process, and the fan-out of publications to them.
 *
 * Interest in a channel is reference-counted over local sockets and exchange
 * subscriptions: the broker is asked to subscribe when the count goes 0 → 1 and to
 * unsubscribe when it returns to 0: one broker subscription per channel per process.
 * Fan-out encodes a publication once and hands the same frame to every subscribed
 * socket (a socket whose publishOut middleware rewrote the data encodes its own).
 *
 * Sockets that asked for recovery (see `Recovery`) get a second frame, with the
 * publication's offset and epoch, and while they catch up from history their live
 * publications wait in a buffer of their own.
 */
import { type BrokerError, type CodecEngine, json as jsonCodec } from "@effect-socketcluster/protocol"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type { BrokerShape } from "./Broker.js"
import { EncodedText, type Frame } from "./Frame.js"
import type { HistoryRead, StreamPosition } from "./History.js"
import type { RecoverRequest, RecoveryAck } from "./Recovery.js"

interface Buffered {
  readonly data: unknown
  readonly offset: number | undefined
  readonly epoch: string | undefined
  readonly json: string | undefined
}

interface PendingSubscription {
  readonly waiters: Array<(exit: Exit.Exit<void, BrokerError>) => void>
}

// Kept small: with 10,000 channels of one subscriber each, this is most of the memory per channel.
interface ChannelEntry {
  /** The subscribers: one socket is held directly, a Set only from the second on. */
  sockets: Subscriber | Set<Subscriber> | undefined
  exchangeInterest: number
  watchers: Set<(data: unknown) => void> | undefined
  /** "ready" once the broker carries the channel; pending while it is being asked; undefined while nobody is interested. */
  broker: "ready" | PendingSubscription | undefined
  /** Sockets that get offsets with each publication; undefined when none asked. */
  positioned: Set<Subscriber> | undefined
  /** Sockets catching up from history, with the live publications they have yet to get. */
  catchingUp: Map<Subscriber, Array<Buffered>> | undefined
}

/** What the registry delivers to: a socket (the registry knows nothing else of it). */
export interface Subscriber {
  /** Takes one publication; `frame` encodes it at most once per fan-out, shared by every subscriber. */
  deliver(channel: string, data: unknown, frame: () => Frame | undefined): void
  /**
   * Set while the registry replays history the subscriber asked for: those frames are
   * its answer, never dropped as a slow consumer's (`maxOutboundBuffer` still bounds them).
   */
  replaying: boolean
}

const noChannels: ReadonlySet<string> = new Set()

export class ChannelRegistry {
  private readonly entries = new Map<string, ChannelEntry>()
  /** Each subscriber's channels, in subscription order: the only record of who holds what. */
  private readonly bySubscriber = new Map<Subscriber, Set<string>>()

  constructor(
    private readonly broker: BrokerShape,
    private readonly codec: () => CodecEngine,
    private readonly runFork: <A, E>(effect: Effect.Effect<A, E>) => unknown,
    private readonly onEncodeError: (error: unknown) => void
  ) {}

  /** Number of channels with at least one local subscriber or exchange subscription. */
  get channelCount(): number {
    let n = 0
    for (const e of this.entries.values()) if (e.sockets !== undefined || e.exchangeInterest > 0) n++
    return n
  }

  /** Number of channels the broker is currently asked to carry. */
  get brokerSubscriptionCount(): number {
    let n = 0
    for (const e of this.entries.values()) if (e.broker !== undefined) n++
    return n
  }

  subscribers(channel: string): ReadonlySet<Subscriber> {
    const sockets = this.entries.get(channel)?.sockets
    return sockets === undefined ? new Set() : sockets instanceof Set ? sockets : new Set([sockets])
  }

  /** The channels `subscriber` is subscribed to, in subscription order. */
  channelsOf(subscriber: Subscriber): ReadonlySet<string> {
    return this.bySubscriber.get(subscriber) ?? noChannels
  }

  private entry(channel: string): ChannelEntry {
    let e = this.entries.get(channel)
    if (e === undefined) {
      e = {
        sockets: undefined,
        exchangeInterest: 0,
        watchers: undefined,
        broker: undefined,
        positioned: undefined,
        catchingUp: undefined
      }
      this.entries.set(channel, e)
    }
    return e
  }

  // Asks the broker once per channel; later subscribers wait for the same answer.
  private ensureBroker(channel: string, e: ChannelEntry): Effect.Effect<void, BrokerError> {
    const state = e.broker
    if (state === "ready") return Effect.void
    if (state !== undefined) {
      return Effect.callback<void, BrokerError>((resume) => {
        state.waiters.push((exit) => resume(exit))
      })
    }
    if (this.broker.immediate !== undefined) {
      this.broker.immediate.subscribe(channel)
      e.broker = "ready"
      return Effect.void
    }
    const pending: PendingSubscription = { waiters: [] }
    e.broker = pending
    return this.broker.subscribe(channel).pipe(
      Effect.onExit((exit) =>
        Effect.sync(() => {
          if (e.broker === pending) e.broker = Exit.isSuccess(exit) ? "ready" : undefined
          for (const waiter of pending.waiters) waiter(exit)
        })
      )
    )
  }

  private release(channel: string, e: ChannelEntry): void {
    if (e.sockets !== undefined || e.exchangeInterest > 0) return
    if (e.watchers === undefined || e.watchers.size === 0) this.entries.delete(channel)
    if (e.broker !== undefined) {
      e.broker = undefined
      if (this.broker.immediate !== undefined) this.broker.immediate.unsubscribe(channel)
      else this.runFork(Effect.ignore(this.broker.unsubscribe(channel)))
    }
  }

  addSocket(socket: Subscriber, channel: string): Effect.Effect<void, BrokerError> {
    return Effect.suspend(() => this.addSocketNow(socket, channel))
  }

  /**
   * `addSocket` done now: the socket is recorded at once, and the result is finished (an
   * `Exit`) when the broker already carries the channel or subscribes immediately.
   */
  addSocketNow(socket: Subscriber, channel: string): Effect.Effect<void, BrokerError> {
    const e = this.entry(channel)
    this.attach(socket, channel, e)
    return this.ensureBroker(channel, e)
  }

  private attach(socket: Subscriber, channel: string, e: ChannelEntry): void {
    const channels = this.bySubscriber.get(socket)
    if (channels === undefined) this.bySubscriber.set(socket, new Set([channel]))
    else channels.add(channel)
    if (e.sockets === undefined) e.sockets = socket
    else if (e.sockets instanceof Set) e.sockets.add(socket)
    else if (e.sockets !== socket) e.sockets = new Set([e.sockets, socket])
  }

  /**
   * Subscribes `socket` with offsets on its publications and, when it says where it
   * stands, sends it what it missed from the broker's history before any live
   * publication. Resolves with the subscribe answer's data.
   */
  addRecoveringSocket(
    socket: Subscriber,
    channel: string,
    request: RecoverRequest
  ): Effect.Effect<RecoveryAck, BrokerError> {
    return Effect.suspend(() => {
      const e = this.entry(channel)
      const history = this.broker.history
      if (e.positioned === undefined) e.positioned = new Set()
      e.positioned.add(socket)
      const since = request.since
      if (since !== undefined && history !== undefined) {
        if (e.catchingUp === undefined) e.catchingUp = new Map()
        e.catchingUp.set(socket, [])
      }
      this.attach(socket, channel, e)
      const subscribed = this.ensureBroker(channel, e)
      if (history === undefined) return Effect.as(subscribed, { replayed: 0, gap: "NoHistory" })
      if (since === undefined) {
        return subscribed.pipe(
          Effect.andThen(history.position(channel)),
          Effect.map(
            (position): RecoveryAck =>
              position === undefined
                ? { replayed: 0, gap: "NoHistory" }
                : { offset: position.offset, epoch: position.epoch, replayed: 0 }
          )
        )
      }
      return subscribed.pipe(
        Effect.andThen(history.read(channel, since)),
        Effect.map((read) => this.catchUp(socket, channel, e, since, read)),
        Effect.onError(() =>
          Effect.sync(() => {
            e.catchingUp?.delete(socket)
          })
        )
      )
    })
  }

  // History first, then the live publications that arrived meanwhile, minus what history covered.
  private catchUp(
    socket: Subscriber,
    channel: string,
    e: ChannelEntry,
    since: StreamPosition,
    read: HistoryRead
  ): RecoveryAck {
    const buffered = e.catchingUp?.get(socket) ?? []
    e.catchingUp?.delete(socket)
    if (e.catchingUp?.size === 0) e.catchingUp = undefined
    // Unsubscribed (or gone) while the history was being read: nothing to send.
    const still =
      this.entries.get(channel) === e && (e.sockets === socket || (e.sockets instanceof Set && e.sockets.has(socket)))
    if (!still) return { replayed: 0 }
    const stats = this.broker.stats
    const top = read.position
    let offset = since.offset
    let epoch = since.epoch
    let replayed = 0
    const send = (data: unknown, o: number | undefined, ep: string | undefined, json: string | undefined) => {
      const frame = this.positionedFrame(channel, data, o, ep, json)
      socket.deliver(channel, data, () => frame)
    }
    if (top !== undefined) {
      socket.replaying = true
      try {
        for (const p of read.publications) {
          send(p.data, p.offset, top.epoch, p.json)
          replayed++
        }
      } finally {
        socket.replaying = false
      }
      offset = top.offset
      epoch = top.epoch
    }
    for (const item of buffered) {
      if (item.offset !== undefined && item.epoch === epoch && item.offset <= offset) continue
      send(item.data, item.offset, item.epoch, item.json)
      if (item.offset !== undefined && item.epoch !== undefined) {
        offset = item.offset
        epoch = item.epoch
      }
    }
    if (stats !== undefined) {
      stats.recoveries++
      stats.replayed += replayed
      if (read.gap !== undefined) stats.gaps++
    }
    const ack: RecoveryAck = top === undefined ? { replayed } : { offset, epoch, replayed }
    return read.gap === undefined ? ack : { ...ack, gap: read.gap }
  }

  private positionedFrame(
    channel: string,
    data: unknown,
    offset: number | undefined,
    epoch: string | undefined,
    json: string | undefined
  ): Frame | undefined {
    try {
      const codec = this.codec()
      // The broker's text of the data (history, or Redis's plain path) is what the default codec writes for it.
      if (json !== undefined && codec === jsonCodec) return EncodedText.publication(channel, json, offset, epoch)
      // As bytes, like every publication frame: a replay queued as strings would sit in the JS heap.
      const out = codec.encode({
        event: "#publish",
        data: offset === undefined ? { channel, data } : { channel, data, offset, epoch }
      })
      return typeof out === "string" ? EncodedText.of(out) : out
    } catch (error) {
      this.onEncodeError(error)
      return undefined
    }
  }

  /** Synchronous: from now on `socket` gets nothing from `channel`. */
  removeSocket(socket: Subscriber, channel: string): void {
    const channels = this.bySubscriber.get(socket)
    if (channels?.delete(channel) && channels.size === 0) this.bySubscriber.delete(socket)
    const e = this.entries.get(channel)
    if (e === undefined || e.sockets === undefined) return
    if (e.sockets instanceof Set) {
      if (!e.sockets.delete(socket)) return
      if (e.sockets.size === 0) e.sockets = undefined
    } else {
      if (e.sockets !== socket) return
      e.sockets = undefined
    }
    if (e.positioned !== undefined) {
      e.positioned.delete(socket)
      if (e.positioned.size === 0) e.positioned = undefined
      e.catchingUp?.delete(socket)
    }
    this.release(channel, e)
  }

  addInterest(channel: string): Effect.Effect<void, BrokerError> {
    return Effect.suspend(() => {
      const e = this.entry(channel)
      e.exchangeInterest++
      return this.ensureBroker(channel, e)
    })
  }

  removeInterest(channel: string): void {
    const e = this.entries.get(channel)
    if (e === undefined || e.exchangeInterest === 0) return
    e.exchangeInterest--
    this.release(channel, e)
  }

  watch(channel: string, watcher: (data: unknown) => void): () => void {
    const e = this.entry(channel)
    if (e.watchers === undefined) e.watchers = new Set()
    const watchers = e.watchers
    watchers.add(watcher)
    return () => {
      watchers.delete(watcher)
      if (watchers.size === 0 && e.sockets === undefined && e.exchangeInterest === 0) this.entries.delete(channel)
    }
  }

  /** Fans a publication out to this process's subscribers. */
  readonly deliver = (channel: string, data: unknown, offset?: number, epoch?: string, json?: string): void => {
    const e = this.entries.get(channel)
    if (e === undefined) return
    const sockets = e.sockets
    if (sockets !== undefined) {
      let frame: Frame | undefined
      let failed = false
      const encoded = (): Frame | undefined => {
        if (frame === undefined && !failed) {
          try {
            const codec = this.codec()
            // The broker's plain JSON of the data, when it has one, is what the default codec writes for it.
            if (json !== undefined && codec === jsonCodec) frame = EncodedText.publication(channel, json)
            else {
              const out = codec.encode({ event: "#publish", data: { channel, data } })
              frame = typeof out === "string" ? EncodedText.of(out) : out
            }
          } catch (error) {
            failed = true
            this.onEncodeError(error)
          }
        }
        return frame
      }
      if (e.positioned !== undefined) this.deliverPositioned(e, channel, data, offset, epoch, json, encoded)
      else if (sockets instanceof Set) for (const socket of sockets) socket.deliver(channel, data, encoded)
      else sockets.deliver(channel, data, encoded)
    }
    if (e.exchangeInterest > 0 && e.watchers !== undefined) for (const watcher of e.watchers) watcher(data)
  }

  // The slower path, only for channels where some socket asked for recovery.
  private deliverPositioned(
    e: ChannelEntry,
    channel: string,
    data: unknown,
    offset: number | undefined,
    epoch: string | undefined,
    json: string | undefined,
    plain: () => Frame | undefined
  ): void {
    const positioned = e.positioned
    const catchingUp = e.catchingUp
    let frame: Frame | undefined
    let encoded = false
    const withPosition = (): Frame | undefined => {
      if (!encoded) {
        encoded = true
        frame = this.positionedFrame(channel, data, offset, epoch, json)
      }
      return frame
    }
    const sockets = e.sockets
    const list = sockets === undefined ? [] : sockets instanceof Set ? sockets : [sockets]
    for (const socket of list) {
      const waiting = catchingUp?.get(socket)
      if (waiting !== undefined) waiting.push({ data, offset, epoch, json })
      else socket.deliver(channel, data, positioned?.has(socket) === true ? withPosition : plain)
    }
  }
}
