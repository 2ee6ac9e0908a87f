/**
 * v14's `server.exchange` (sc-simple-broker's exchange and sc-channel 1.x channels,
 * server side) with its callback API, over the core's exchange and channel registry.
 * Everything is local to this process except `publish`, which goes through the broker
 * so every process's subscribers get it.
 */
import type { SCServer as Core, DataStore } from "@effect-socketcluster/server"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { Emitter } from "./Emitter.js"
import { DataExchange, failureOf } from "./ExchangeData.js"

export type ChannelState = "pending" | "subscribed" | "unsubscribed"
export type Watcher = (data: unknown) => void

/** The exchange's access to the core (absent until the core is built). */
export interface ExchangeHost {
  withCore(action: (core: Core.SCServerCore) => void): void
}

/** A channel of the exchange (sc-channel 1.x). Events: `subscribe`, `unsubscribe`, `subscribeFail`. */
export class SCChannel extends Emitter {
  readonly PENDING = "pending"
  readonly SUBSCRIBED = "subscribed"
  readonly UNSUBSCRIBED = "unsubscribed"
  state: ChannelState = "unsubscribed"
  waitForAuth = false
  batch = false
  data: unknown = undefined
  options: Record<string, unknown> = {}

  constructor(
    readonly name: string,
    readonly client: SCExchange
  ) {
    super()
  }

  getState(): ChannelState {
    return this.state
  }
  setOptions(options: Record<string, unknown> = {}): void {
    this.options = options
    this.waitForAuth = options.waitForAuth === true
    this.batch = options.batch === true
    if (options.data !== undefined) this.data = options.data
  }
  subscribe(options?: Record<string, unknown>): void {
    if (options !== undefined) this.setOptions(options)
    this.client.subscribe(this.name)
  }
  unsubscribe(): void {
    this.client.unsubscribe(this.name)
  }
  isSubscribed(includePending = false): boolean {
    return this.client.isSubscribed(this.name, includePending)
  }
  publish(data: unknown, callback?: (error?: unknown) => void): void {
    this.client.publish(this.name, data, callback)
  }
  watch(handler: Watcher): void {
    this.client.watch(this.name, handler)
  }
  unwatch(handler?: Watcher): void {
    this.client.unwatch(this.name, handler)
  }
  watchers(): Array<Watcher> {
    return this.client.watchers(this.name)
  }
  destroy(): void {
    this.client.destroyChannel(this.name)
  }
}

interface WatchList {
  readonly handlers: Array<Watcher>
  unwatch: (() => void) | undefined
}

/**
 * The server's exchange. Events (Node `EventEmitter`): `subscribe`(name),
 * `unsubscribe`(name), `subscribeFail`(error, name). The data methods (`set`, `get`,
 * `add`, `expire`, …) are {@link DataExchange}'s, over the core's data store.
 */
export class SCExchange extends DataExchange {
  private readonly channels = new Map<string, SCChannel>()
  private readonly watchLists = new Map<string, WatchList>()

  constructor(protected readonly host: ExchangeHost) {
    super()
  }

  protected withData(action: (data: DataStore.DataStoreShape) => void): void {
    this.host.withCore((core) => action(core.exchange.data))
  }

  /** Publishes through the broker; `callback(err?)` once the broker accepted it. */
  publish(channel: string, data: unknown, callback?: (error?: unknown) => void): void {
    this.host.withCore((core) => {
      const fiber = Effect.runFork(core.exchange.publish(channel, data))
      fiber.addObserver((exit) => {
        if (callback === undefined) return
        if (Exit.isSuccess(exit)) callback()
        else callback(failureOf(exit))
      })
    })
  }

  /** Gets or creates the channel object without subscribing. */
  channel(name: string): SCChannel {
    let ch = this.channels.get(name)
    if (ch === undefined) {
      ch = new SCChannel(name, this)
      this.channels.set(name, ch)
    }
    return ch
  }

  /** Subscribes the exchange to `name` (with the default broker it is `subscribed` at once). */
  subscribe(name: string, options?: Record<string, unknown>): SCChannel {
    const ch = this.channel(name)
    if (options !== undefined) ch.setOptions(options)
    if (ch.state !== "unsubscribed") return ch
    ch.state = "pending"
    this.host.withCore((core) => {
      const fiber = Effect.runFork(core.exchange.channel(name).subscribe())
      fiber.addObserver((exit) => {
        if (ch.state !== "pending") return
        if (Exit.isSuccess(exit)) {
          ch.state = "subscribed"
          ch.emitLocal("subscribe", name)
          this.emit("subscribe", name)
        } else {
          ch.state = "unsubscribed"
          const error = failureOf(exit)
          ch.emitLocal("subscribeFail", error, name)
          this.emit("subscribeFail", error, name)
        }
      })
    })
    return ch
  }

  unsubscribe(name: string): void {
    const ch = this.channels.get(name)
    if (ch === undefined || ch.state === "unsubscribed") return
    const wasSubscribed = ch.state === "subscribed"
    ch.state = "unsubscribed"
    this.host.withCore((core) => {
      Effect.runFork(core.exchange.unsubscribe(name))
    })
    if (wasSubscribed) {
      ch.emitLocal("unsubscribe", name)
      this.emit("unsubscribe", name)
    }
  }

  /** Unwatches, unsubscribes and forgets `name` (a no-op for unknown names). */
  destroyChannel(name: string): void {
    if (!this.channels.has(name)) return
    this.unwatch(name)
    this.unsubscribe(name)
    this.channels.delete(name)
  }

  subscriptions(includePending = false): Array<string> {
    const out: Array<string> = []
    for (const ch of this.channels.values()) if (this.isSubscribed(ch.name, includePending)) out.push(ch.name)
    return out
  }

  isSubscribed(name: string, includePending = false): boolean {
    const state = this.channels.get(name)?.state
    return state === "subscribed" || (includePending && state === "pending")
  }

  /** `handler(data)` for each publication on `name` while the exchange is subscribed to it. */
  watch(name: string, handler: Watcher): void {
    let list = this.watchLists.get(name)
    if (list === undefined) {
      const created: WatchList = { handlers: [], unwatch: undefined }
      list = created
      this.watchLists.set(name, created)
      this.host.withCore((core) => {
        if (this.watchLists.get(name) !== created) return
        created.unwatch = core.registry.watch(name, (data) => {
          if (this.channels.get(name)?.state !== "subscribed") return
          for (const h of created.handlers.slice()) h(data)
        })
      })
    }
    list.handlers.push(handler)
  }

  unwatch(name: string, handler?: Watcher): void {
    const list = this.watchLists.get(name)
    if (list === undefined) return
    if (handler === undefined) list.handlers.length = 0
    else {
      const i = list.handlers.indexOf(handler)
      if (i >= 0) list.handlers.splice(i, 1)
    }
    if (list.handlers.length === 0) {
      list.unwatch?.()
      this.watchLists.delete(name)
    }
  }

  watchers(name: string): Array<Watcher> {
    return this.watchLists.get(name)?.handlers.slice() ?? []
  }

  /** Unsubscribes and unwatches every channel. */
  destroy(): void {
    for (const name of Array.from(this.channels.keys())) this.destroyChannel(name)
  }
}
