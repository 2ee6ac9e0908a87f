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
import { Deferred, Effect, Exit } from "effect"
import type { BrokerShape } from "./Broker.js"
import type { SCSocket } from "./SCSocket.js"

interface ChannelEntry {
  readonly sockets: Set<SCSocket>
  exchangeInterest: number
  readonly watchers: Set<(data: unknown) => void>
  /** Completes when the broker carries the channel; undefined while nobody is interested. */
  brokerReady: Deferred.Deferred<void, BrokerError> | undefined
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
    for (const e of this.entries.values()) if (e.sockets.size > 0 || e.exchangeInterest > 0) n++
    return n
  }

  /** Number of channels the broker is currently asked to carry. */
  get brokerSubscriptionCount(): number {
    let n = 0
    for (const e of this.entries.values()) if (e.brokerReady !== undefined) n++
    return n
  }

  subscribers(channel: string): ReadonlySet<SCSocket> {
    return this.entries.get(channel)?.sockets ?? new Set()
  }

  private entry(channel: string): ChannelEntry {
    let e = this.entries.get(channel)
    if (e === undefined) {
      e = { sockets: new Set(), exchangeInterest: 0, watchers: new Set(), brokerReady: undefined }
      this.entries.set(channel, e)
    }
    return e
  }

  // Asks the broker once per channel; later subscribers wait for the same answer.
  private ensureBroker(channel: string, e: ChannelEntry): Effect.Effect<void, BrokerError> {
    if (e.brokerReady !== undefined) return Deferred.await(e.brokerReady)
    const ready = Deferred.makeUnsafe<void, BrokerError>()
    e.brokerReady = ready
    return this.broker.subscribe(channel).pipe(
      Effect.onExit((exit) => {
        if (Exit.isFailure(exit) && e.brokerReady === ready) e.brokerReady = undefined
        return Deferred.done(ready, exit)
      })
    )
  }

  private release(channel: string, e: ChannelEntry): void {
    if (e.sockets.size > 0 || e.exchangeInterest > 0) return
    if (e.watchers.size === 0) this.entries.delete(channel)
    if (e.brokerReady !== undefined) {
      e.brokerReady = undefined
      this.runFork(Effect.ignore(this.broker.unsubscribe(channel)))
    }
  }

  addSocket(socket: SCSocket, channel: string): Effect.Effect<void, BrokerError> {
    return Effect.suspend(() => {
      const e = this.entry(channel)
      e.sockets.add(socket)
      return this.ensureBroker(channel, e)
    })
  }

  /** Synchronous: from now on `socket` gets nothing from `channel`. */
  removeSocket(socket: SCSocket, channel: string): void {
    const e = this.entries.get(channel)
    if (e === undefined || !e.sockets.delete(socket)) return
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
    e.watchers.add(watcher)
    return () => {
      e.watchers.delete(watcher)
      if (e.watchers.size === 0 && e.sockets.size === 0 && e.exchangeInterest === 0) this.entries.delete(channel)
    }
  }

  /** Fans a publication out to this process's subscribers. */
  readonly deliver = (channel: string, data: unknown): void => {
    const e = this.entries.get(channel)
    if (e === undefined) return
    if (e.sockets.size > 0) {
      let frame: string | Uint8Array | undefined
      let failed = false
      const encoded = (): string | Uint8Array | undefined => {
        if (frame === undefined && !failed) {
          try {
            frame = this.codec().encode({ event: "#publish", data: { channel, data } })
          } catch (error) {
            failed = true
            this.onEncodeError(error)
          }
        }
        return frame
      }
      for (const socket of e.sockets) socket.deliver(channel, data, encoded)
    }
    if (e.exchangeInterest > 0) for (const watcher of e.watchers) watcher(data)
  }
}
