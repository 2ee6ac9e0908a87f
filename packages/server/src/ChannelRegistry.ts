/**
 * Who is subscribed to what in this process, and the fan-out of publications to them.
 *
 * Interest in a channel is reference-counted over local sockets and exchange
 * subscriptions: the broker is asked to subscribe when the count goes 0 → 1 and to
 * unsubscribe when it returns to 0: one broker subscription per channel per process.
 * Fan-out encodes a publication once and hands the same frame to every subscribed
 * socket (a socket whose publishOut middleware rewrote the data encodes its own).
 */
import type { BrokerError, CodecEngine } from "@effect-socketcluster/protocol"
import { Effect, Exit } from "effect"
import type { BrokerShape } from "./Broker.js"
import { EncodedText, type Frame, type SCSocket } from "./SCSocket.js"

interface PendingSubscription {
  readonly waiters: Array<(exit: Exit.Exit<void, BrokerError>) => void>
}

// Kept small: with 10,000 channels of one subscriber each, this is most of the memory per channel.
interface ChannelEntry {
  /** The subscribers: one socket is held directly, a Set only from the second on. */
  sockets: SCSocket | Set<SCSocket> | undefined
  exchangeInterest: number
  watchers: Set<(data: unknown) => void> | undefined
  /** "ready" once the broker carries the channel; pending while it is being asked; undefined while nobody is interested. */
  broker: "ready" | PendingSubscription | undefined
}

export class ChannelRegistry {
  private readonly entries = new Map<string, ChannelEntry>()

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

  subscribers(channel: string): ReadonlySet<SCSocket> {
    const sockets = this.entries.get(channel)?.sockets
    return sockets === undefined ? new Set() : sockets instanceof Set ? sockets : new Set([sockets])
  }

  private entry(channel: string): ChannelEntry {
    let e = this.entries.get(channel)
    if (e === undefined) {
      e = { sockets: undefined, exchangeInterest: 0, watchers: undefined, broker: undefined }
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
      this.runFork(Effect.ignore(this.broker.unsubscribe(channel)))
    }
  }

  addSocket(socket: SCSocket, channel: string): Effect.Effect<void, BrokerError> {
    return Effect.suspend(() => {
      const e = this.entry(channel)
      if (e.sockets === undefined) e.sockets = socket
      else if (e.sockets instanceof Set) e.sockets.add(socket)
      else if (e.sockets !== socket) e.sockets = new Set([e.sockets, socket])
      return this.ensureBroker(channel, e)
    })
  }

  /** Synchronous: from now on `socket` gets nothing from `channel`. */
  removeSocket(socket: SCSocket, channel: string): void {
    const e = this.entries.get(channel)
    if (e === undefined || e.sockets === undefined) return
    if (e.sockets instanceof Set) {
      if (!e.sockets.delete(socket)) return
      if (e.sockets.size === 0) e.sockets = undefined
    } else {
      if (e.sockets !== socket) return
      e.sockets = undefined
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
  readonly deliver = (channel: string, data: unknown): void => {
    const e = this.entries.get(channel)
    if (e === undefined) return
    const sockets = e.sockets
    if (sockets !== undefined) {
      let frame: Frame | undefined
      let failed = false
      const many = sockets instanceof Set && sockets.size > 1
      const encoded = (): Frame | undefined => {
        if (frame === undefined && !failed) {
          try {
            const out = this.codec().encode({ event: "#publish", data: { channel, data } })
            frame = many && typeof out === "string" ? new EncodedText(Buffer.from(out)) : out
          } catch (error) {
            failed = true
            this.onEncodeError(error)
          }
        }
        return frame
      }
      if (sockets instanceof Set) for (const socket of sockets) socket.deliver(channel, data, encoded)
      else sockets.deliver(channel, data, encoded)
    }
    if (e.exchangeInterest > 0 && e.watchers !== undefined) for (const watcher of e.watchers) watcher(data)
  }
}
