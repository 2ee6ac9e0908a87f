/**
 * The embedded in-memory broker: one process, no I/O. It is what the server uses when
 * no broker layer is provided. Publications are delivered synchronously, inside
 * `publish`, so a publisher's ack follows the deliveries to local subscribers (as with
 * v14's default broker).
 *
 * It keeps channel history like the Redis broker (offsets, one epoch per stream, bounds
 * by length and age per channel pattern), so that clients can recover missed
 * publications after a reconnection to the same process.
 */
import { Duration, Effect, Layer, Stream } from "effect"
import { addHandler, Broker, type BrokerShape, makeStats, type PublicationHandler } from "./Broker.js"
import * as History from "./History.js"

/** Options of {@link makeWith} / {@link layerWith}. */
export interface BrokerMemoryOptions {
  /** Channel history (default: `History.defaultPolicy` for every channel). */
  readonly history?: History.HistoryConfig | undefined
  /**
   * How long a channel's offset and epoch outlive its last publication (default 1 day,
   * as with Redis): then the channel is forgotten and its next publication starts a new epoch.
   */
  readonly historyMetaTtl?: Duration.Input | undefined
}

/** How often (at most) a publication sweeps idle channels out. */
const sweepIntervalMs = 10_000

interface Entry {
  readonly offset: number
  readonly data: unknown
  readonly at: number
}

/** One channel's history: `entries` from index `head` on are the retained ones. */
interface MemoryStream {
  readonly epoch: string
  top: number
  /** When the last publication was made. */
  lastAt: number
  entries: Array<Entry>
  head: number
}

const newEpoch = (): string => Math.random().toString(36).slice(2, 10) + Date.now().toString(36)

const trim = (stream: MemoryStream, policy: History.ResolvedPolicy, now: number): void => {
  const entries = stream.entries
  let head = Math.max(stream.head, entries.length - policy.length)
  if (policy.ageMs !== undefined) {
    const cutoff = now - policy.ageMs
    while (head < entries.length && entries[head]!.at < cutoff) head++
  }
  // Compact once the dropped prefix outgrows what is kept (amortised O(1) per publication), or all aged out.
  if (head > policy.length || (head > 0 && head === entries.length)) {
    stream.entries = entries.slice(head)
    head = 0
  }
  stream.head = head
}

/** Builds an in-memory broker with the given history settings. */
export const makeWith = (options: BrokerMemoryOptions): Effect.Effect<BrokerShape> =>
  Effect.sync(() => {
    const policyOf = History.compile(options.history)
    const subscribed = new Set<string>()
    const handlers = new Set<PublicationHandler>()
    const streams = new Map<string, MemoryStream>()
    const stats = makeStats()
    const metaTtlMs = Duration.toMillis(Duration.fromInputUnsafe(options.historyMetaTtl ?? "1 day"))
    let nextSweep = Date.now() + sweepIntervalMs

    // Idle channels would otherwise hold their last publications (and a map entry) forever.
    const sweep = (now: number): void => {
      nextSweep = now + sweepIntervalMs
      for (const [channel, stream] of streams) {
        if (now - stream.lastAt > metaTtlMs) {
          streams.delete(channel)
          continue
        }
        const policy = policyOf(channel)
        if (policy !== undefined) trim(stream, policy, now)
      }
    }

    const positionOf = (channel: string): History.StreamPosition | undefined => {
      if (policyOf(channel) === undefined) return undefined
      const stream = streams.get(channel)
      return stream === undefined ? { offset: 0, epoch: "" } : { offset: stream.top, epoch: stream.epoch }
    }

    const publishNow = (channel: string, data: unknown): void => {
      const policy = policyOf(channel)
      if (policy === undefined) {
        if (!subscribed.has(channel)) return
        for (const handler of handlers) handler(channel, data)
        return
      }
      let stream = streams.get(channel)
      if (stream === undefined) {
        stream = { epoch: newEpoch(), top: 0, lastAt: 0, entries: [], head: 0 }
        streams.set(channel, stream)
      }
      const offset = ++stream.top
      const now = Date.now()
      stream.lastAt = now
      stream.entries.push({ offset, data, at: now })
      trim(stream, policy, now)
      if (now >= nextSweep) sweep(now)
      stats.appends++
      if (!subscribed.has(channel)) return
      for (const handler of handlers) handler(channel, data, offset, stream.epoch)
    }
    const immediate = {
      subscribe: (channel: string): void => {
        subscribed.add(channel)
      },
      unsubscribe: (channel: string): void => {
        subscribed.delete(channel)
      },
      publish: publishNow
    }

    return {
      processLocal: true,
      subscribe: (channel) => Effect.sync(() => immediate.subscribe(channel)),
      unsubscribe: (channel) => Effect.sync(() => immediate.unsubscribe(channel)),
      publish: (channel, data) => Effect.sync(() => publishNow(channel, data)),
      immediate,
      onPublication: (handler) => addHandler(handlers, handler),
      ready: Effect.void,
      notices: Stream.empty,
      history: {
        position: (channel) => Effect.sync(() => positionOf(channel)),
        read: (channel, since) =>
          Effect.sync(() => {
            const policy = policyOf(channel)
            if (policy === undefined) return { publications: [], position: undefined, gap: "NoHistory" }
            const stream = streams.get(channel)
            if (stream === undefined) return History.readFrom(since, { offset: 0, epoch: "" }, [])
            trim(stream, policy, Date.now())
            const retained = stream.entries.slice(stream.head).map(({ offset, data }) => ({ offset, data }))
            return History.readFrom(since, { offset: stream.top, epoch: stream.epoch }, retained)
          })
      },
      stats
    }
  })

/** Builds an in-memory broker with the default history settings. */
export const make: Effect.Effect<BrokerShape> = makeWith({})

/** The in-memory broker as a layer (default history settings). */
export const layer: Layer.Layer<Broker> = Layer.effect(Broker, make)

/** The in-memory broker as a layer, with history settings. */
export const layerWith = (options: BrokerMemoryOptions): Layer.Layer<Broker> => Layer.effect(Broker, makeWith(options))
