/**
 * The channels this client is subscribed to, with their local subscribers: one
 * `#subscribe` per channel however many streams read it, sent again on every new
 * connection (automatic resubscription).
 */
import { Cause, Queue } from "effect"
import { fromWire, KickedOutError, type ServerError } from "../ClientError.js"
import type { Calls } from "./Calls.js"
import type { Link } from "./Link.js"

/** What a subscription stream can fail with. */
export type SubscriptionError = ServerError | KickedOutError

/** `waitForAuth` and `data` of `#subscribe` (spec §9.2). */
export interface SubscribeOptions {
  /** The server holds the subscription until the socket is authenticated. */
  readonly waitForAuth?: boolean | undefined
  /** Sent to the server's subscribe middleware. */
  readonly data?: unknown
}

export type Subscriber = Queue.Queue<unknown, SubscriptionError | Cause.Done>

class Channel {
  readonly subscribers = new Set<Subscriber>()
  subscribed = false
  /** Callers of `join` waiting for the server's first confirmation. */
  waiting: Array<(error: SubscriptionError | undefined) => void> = []

  constructor(
    readonly name: string,
    readonly options: SubscribeOptions
  ) {}
}

export class Channels {
  private readonly channels = new Map<string, Channel>()

  constructor(private readonly calls: Calls) {}

  /**
   * Adds a subscriber; `ready` is called once the server confirmed the channel (at once
   * when it already had), or with the error that refused it.
   */
  join(
    name: string,
    options: SubscribeOptions,
    subscriber: Subscriber,
    link: Link | undefined,
    ready: (error: SubscriptionError | undefined) => void
  ): void {
    let channel = this.channels.get(name)
    if (channel === undefined) {
      channel = new Channel(name, options)
      this.channels.set(name, channel)
      channel.subscribers.add(subscriber)
      channel.waiting.push(ready)
      if (link !== undefined) this.request(channel, link)
      return
    }
    channel.subscribers.add(subscriber)
    if (channel.subscribed) ready(undefined)
    else channel.waiting.push(ready)
  }

  /** Removes a subscriber; the last one out unsubscribes the channel on the server. */
  leave(name: string, subscriber: Subscriber, link: Link | undefined): void {
    const channel = this.channels.get(name)
    if (channel === undefined || !channel.subscribers.delete(subscriber)) return
    if (channel.subscribers.size > 0) return
    this.channels.delete(name)
    // The real client never puts a cid on #unsubscribe.
    if (link !== undefined) link.send({ event: "#unsubscribe", data: name })
  }

  /** Every channel is subscribed again on a new connection. */
  opened(link: Link): void {
    for (const channel of this.channels.values()) this.request(channel, link)
  }

  closed(): void {
    for (const channel of this.channels.values()) channel.subscribed = false
  }

  deliver(name: string, data: unknown): void {
    const channel = this.channels.get(name)
    if (channel === undefined) return
    for (const subscriber of channel.subscribers) Queue.offerUnsafe(subscriber, data)
  }

  kickOut(name: string, message: unknown): void {
    const channel = this.channels.get(name)
    if (channel === undefined) return
    this.fail(
      channel,
      new KickedOutError({ channel: name, message: typeof message === "string" ? message : "", data: message })
    )
  }

  isSubscribed(name: string): boolean {
    return this.channels.get(name)?.subscribed === true
  }

  names(): ReadonlyArray<string> {
    return [...this.channels.keys()]
  }

  private request(channel: Channel, link: Link): void {
    const cid = this.calls.next()
    this.calls.register(cid, {
      onAnswer: (error) => {
        if (this.channels.get(channel.name) !== channel) return
        if (error !== undefined && error !== null) return this.fail(channel, fromWire(error))
        channel.subscribed = true
        const waiting = channel.waiting
        channel.waiting = []
        for (const ready of waiting) ready(undefined)
      },
      // Sent again on the next connection.
      onDrop: () => {}
    })
    const data: Record<string, unknown> = { channel: channel.name }
    if (channel.options.waitForAuth === true) data.waitForAuth = true
    if (channel.options.data !== undefined) data.data = channel.options.data
    link.send({ event: "#subscribe", data, cid })
  }

  private fail(channel: Channel, error: SubscriptionError): void {
    this.channels.delete(channel.name)
    const waiting = channel.waiting
    channel.waiting = []
    for (const ready of waiting) ready(error)
    for (const subscriber of channel.subscribers) Queue.failCauseUnsafe(subscriber, Cause.fail(error))
  }
}
