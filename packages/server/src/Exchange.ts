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
 * ```
 */
import type { BrokerError } from "@effect-socketcluster/protocol"
import { Effect, Queue, type Scope, Stream } from "effect"

export type ChannelState = "pending" | "subscribed" | "unsubscribed"

/** What the exchange needs from the server's channel registry. */
export interface ExchangeHost {
  publish(channel: string, data: unknown): Effect.Effect<void, BrokerError>
  addInterest(channel: string): Effect.Effect<void, BrokerError>
  removeInterest(channel: string): void
  watch(channel: string, watcher: (data: unknown) => void): () => void
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
 * The server-side exchange.
 */
export class Exchange {
  private readonly channels = new Map<string, ExchangeChannel>()

  constructor(
    /** @internal */
    readonly host: ExchangeHost
  ) {}

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
