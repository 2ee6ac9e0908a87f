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
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { addHandler, Broker, type BrokerShape, makeStats, type PublicationHandler } from "./Broker.js"
import * as History from "./History.js"
import { HistoryBuffer } from "./HistoryBuffer.js"
import * as Payload from "./Payload.js"

/** Options of {@link makeWith} / {@link layerWith}. */
export interface BrokerMemoryOptions {
  /** Channel history (default: `History.defaultPolicy` for every channel). */
  readonly history?: History.HistoryConfig | undefined
  /**
   * How long a channel's offset and epoch outlive its last publication (default 1 day,
   * as with Redis): then the channel is forgotten and its next publication starts a new epoch.
   */
  readonly historyMetaTtl?: Duration.Input | undefined
  /**
   * At most this many bytes of retained publications per channel, as their JSON text
   * (default 16 MiB): past it the oldest go first, as with the policy's `length`, and a
   * reader that missed them gets a `Trimmed` gap. Publications are kept outside the JS
   * heap (see `HistoryBuffer`), so this is the history's memory bound.
   */
  readonly historyMaxBytes?: number | undefined
}

/** How often (at most) a publication sweeps idle channels out. */
const sweepIntervalMs = 10_000

/** The default bound on one channel's retained bytes (`historyMaxBytes`). */
export const defaultHistoryMaxBytes = 16 * 1024 * 1024

/** The data's `Payload` text, or undefined when it has none (a BigInt, a cycle, a bare function). */
const textOf = (data: unknown): string | undefined => {
  try {
    return Payload.encode(data)
  } catch {
    return undefined
  }
}

/** The data's plain JSON (`Payload.plainJson`), or undefined. */
const plainJsonOf = (data: unknown): string | undefined => {
  try {
    return Payload.plainJson(data)
  } catch {
    return undefined
  }
}

// An epoch is unique among this process's streams (the counter) and across restarts (the
// random prefix, drawn once): a channel's first publication makes one, so it is a string
// concatenation rather than a random number formatted per channel.
const epochPrefix = Math.random().toString(36).slice(2, 10) + Date.now().toString(36)
let epochs = 0
const newEpoch = (): string => `${epochPrefix}.${(epochs++).toString(36)}`

/** Builds an in-memory broker with the given history settings. */
export const makeWith = (options: BrokerMemoryOptions): Effect.Effect<BrokerShape> =>
  Effect.sync(() => {
    const policyOf = History.compile(options.history)
    const subscribed = new Set<string>()
    const handlers = new Set<PublicationHandler>()
    const streams = new Map<string, HistoryBuffer>()
    const maxBytes = options.historyMaxBytes ?? defaultHistoryMaxBytes
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
      throw new RangeError(`historyMaxBytes must be a positive integer, got ${String(maxBytes)}`)
    }
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
        if (policy !== undefined) stream.trimAge(policy, now)
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
        stream = new HistoryBuffer(newEpoch())
        streams.set(channel, stream)
      }
      const now = Date.now()
      // Plain JSON as it is (no tag prepended: a concatenated string is copied again by every reader of it).
      const json = plainJsonOf(data)
      const offset = stream.append(data, json, json === undefined ? textOf(data) : undefined, now, policy, maxBytes)
      if (now >= nextSweep) sweep(now)
      stats.appends++
      if (!subscribed.has(channel)) return
      // The JSON goes along: fan-out frames it without encoding the data a second time.
      for (const handler of handlers) handler(channel, data, offset, stream.epoch, json)
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
            stream.trimAge(policy, Date.now())
            // In the same stream only what follows the reader's offset can matter (see `readFrom`).
            const retained = stream.readAfter(since.epoch === stream.epoch ? since.offset : 0)
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
