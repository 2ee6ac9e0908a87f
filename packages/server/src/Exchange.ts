/**
 * The exchange: the server's own client of the broker (v14 `server.exchange`).
 * Server-side publishes skip publishIn (they are not client actions); each delivery to a
 * socket still passes publishOut.
 *
 * @example
 * ```ts
 * const server = yield* SCServer
 * const news = yield* server.exchange.subscribe("news")       // scoped: unsubscribes on scope close
 * yield* news.messages.pipe(Stream.take(1), Stream.runForEach(Console.log), Effect.forkScoped)
 * yield* server.exchange.publish("news", { headline: "hello" })
 * yield* server.exchange.set(["scores", "ada"], 3)                // the data API (see DataStore)
 * ```
 */
import type { BrokerError } from "@effect-socketcluster/protocol"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { DataStoreError, DataStoreShape, KeyChain, SpliceOptions } from "./DataStore.js"

export type ChannelState = "pending" | "subscribed" | "unsubscribed"

/** What the exchange needs from the server's channel registry. */
export interface ExchangeHost {
  publish(channel: string, data: unknown): Effect.Effect<void, BrokerError>
  addInterest(channel: string): Effect.Effect<void, BrokerError>
  removeInterest(channel: string): void
  watch(channel: string, watcher: (data: unknown) => void): () => void
  /** The data store behind the exchange's data methods. */
  readonly data: DataStoreShape
}

/** A channel of the exchange (v14 sc-channel, server side). */
export class ExchangeChannel {
  state: ChannelState = "unsubscribed"

  constructor(
    readonly name: string,
    private readonly exchange: Exchange
  ) {}

  /** Publications on this channel while the exchange is subscribed to it. */
  get messages(): Stream.Stream<unknown> {
    return Stream.callback<unknown>((queue) =>
      Effect.acquireRelease(
        Effect.sync(() =>
          this.exchange.host.watch(this.name, (data) => {
            if (this.state === "subscribed") Queue.offerUnsafe(queue, data)
          })
        ),
        (unwatch) => Effect.sync(unwatch)
      )
    )
  }

  isSubscribed(includePending = false): boolean {
    return this.state === "subscribed" || (includePending && this.state === "pending")
  }

  subscribe(): Effect.Effect<void, BrokerError> {
    return this.exchange.subscribeChannel(this)
  }

  unsubscribe(): Effect.Effect<void> {
    return Effect.sync(() => this.exchange.unsubscribeChannel(this))
  }

  publish(data: unknown): Effect.Effect<void, BrokerError> {
    return this.exchange.publish(this.name, data)
  }
}

/**
 * The server-side exchange: pub/sub through the `Broker`, and the data API of the
 * `DataStore` (every data method is the store's, see `DataStore.DataStoreShape`).
 */
export class Exchange {
  private readonly channels = new Map<string, ExchangeChannel>()

  /** The data store behind the data methods. */
  readonly data: DataStoreShape

  constructor(
    /** @internal */
    readonly host: ExchangeHost
  ) {
    this.data = host.data
  }

  set(keyChain: KeyChain, value: unknown): Effect.Effect<void, DataStoreError> {
    return this.data.set(keyChain, value)
  }
  get(keyChain: KeyChain): Effect.Effect<unknown, DataStoreError> {
    return this.data.get(keyChain)
  }
  get getAll(): Effect.Effect<unknown, DataStoreError> {
    return this.data.getAll
  }
  getRange(
    keyChain: KeyChain,
    fromIndex: number | string,
    toIndex?: number | string
  ): Effect.Effect<unknown, DataStoreError> {
    return this.data.getRange(keyChain, fromIndex, toIndex)
  }
  count(keyChain: KeyChain): Effect.Effect<number, DataStoreError> {
    return this.data.count(keyChain)
  }
  hasKey(keyChain: KeyChain): Effect.Effect<boolean, DataStoreError> {
    return this.data.hasKey(keyChain)
  }
  add(keyChain: KeyChain, value: unknown): Effect.Effect<number, DataStoreError> {
    return this.data.add(keyChain, value)
  }
  concat(keyChain: KeyChain, value: unknown): Effect.Effect<void, DataStoreError> {
    return this.data.concat(keyChain, value)
  }
  remove(keyChain: KeyChain): Effect.Effect<unknown, DataStoreError> {
    return this.data.remove(keyChain)
  }
  removeRange(
    keyChain: KeyChain,
    fromIndex: number | string,
    toIndex?: number | string
  ): Effect.Effect<unknown, DataStoreError> {
    return this.data.removeRange(keyChain, fromIndex, toIndex)
  }
  get removeAll(): Effect.Effect<void, DataStoreError> {
    return this.data.removeAll
  }
  splice(keyChain: KeyChain, options: SpliceOptions): Effect.Effect<Array<unknown>, DataStoreError> {
    return this.data.splice(keyChain, options)
  }
  pop(keyChain: KeyChain): Effect.Effect<Array<unknown>, DataStoreError> {
    return this.data.pop(keyChain)
  }
  expire(keyChains: ReadonlyArray<KeyChain>, seconds: number): Effect.Effect<void, DataStoreError> {
    return this.data.expire(keyChains, seconds)
  }
  unexpire(keyChains: ReadonlyArray<KeyChain>): Effect.Effect<void, DataStoreError> {
    return this.data.unexpire(keyChains)
  }
  getExpiry(keyChain: KeyChain): Effect.Effect<number | undefined, DataStoreError> {
    return this.data.getExpiry(keyChain)
  }
  /** Own enumerable keys of `object` (synchronous, like v14's). */
  extractKeys(object: object): Array<string> {
    return Object.keys(object)
  }
  /** Own enumerable values of `object` (synchronous). */
  extractValues(object: object): Array<unknown> {
    return Object.values(object)
  }

  /** Publishes to every subscriber of `channel` (local sockets and other processes). */
  publish(channel: string, data: unknown): Effect.Effect<void, BrokerError> {
    return this.host.publish(channel, data)
  }

  /** Gets or creates a channel object without subscribing. */
  channel(name: string): ExchangeChannel {
    let ch = this.channels.get(name)
    if (ch === undefined) {
      ch = new ExchangeChannel(name, this)
      this.channels.set(name, ch)
    }
    return ch
  }

  /** Subscribes the exchange to `name` until the scope closes. */
  subscribe(name: string): Effect.Effect<ExchangeChannel, BrokerError, Scope.Scope> {
    return Effect.acquireRelease(
      Effect.suspend(() => {
        const ch = this.channel(name)
        return Effect.as(ch.subscribe(), ch)
      }),
      (ch) => ch.unsubscribe()
    )
  }

  /** Unsubscribes the exchange from `name` (no-op when not subscribed). */
  unsubscribe(name: string): Effect.Effect<void> {
    return Effect.sync(() => {
      const ch = this.channels.get(name)
      if (ch !== undefined) this.unsubscribeChannel(ch)
    })
  }

  /** Unsubscribes and forgets the channel object (a no-op for unknown names, unlike v14). */
  destroyChannel(name: string): Effect.Effect<void> {
    return Effect.sync(() => {
      const ch = this.channels.get(name)
      if (ch === undefined) return
      this.unsubscribeChannel(ch)
      this.channels.delete(name)
    })
  }

  /** Names of subscribed (and, if asked, pending) channels. */
  subscriptions(includePending = false): ReadonlyArray<string> {
    const out: Array<string> = []
    for (const ch of this.channels.values()) if (ch.isSubscribed(includePending)) out.push(ch.name)
    return out
  }

  isSubscribed(name: string, includePending = false): boolean {
    return this.channels.get(name)?.isSubscribed(includePending) ?? false
  }

  /** @internal */
  subscribeChannel(ch: ExchangeChannel): Effect.Effect<void, BrokerError> {
    return Effect.suspend(() => {
      if (ch.state !== "unsubscribed") return Effect.void
      ch.state = "pending"
      return this.host.addInterest(ch.name).pipe(
        Effect.tap(() =>
          Effect.sync(() => {
            if (ch.state === "pending") ch.state = "subscribed"
          })
        ),
        Effect.tapError(() =>
          Effect.sync(() => {
            ch.state = "unsubscribed"
          })
        )
      )
    })
  }

  /** @internal */
  unsubscribeChannel(ch: ExchangeChannel): void {
    if (ch.state === "unsubscribed") return
    ch.state = "unsubscribed"
    this.host.removeInterest(ch.name)
  }
}
