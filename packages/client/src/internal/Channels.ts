/**
 * The channels this client is subscribed to, with their local subscribers: one
 * `#subscribe` per channel however many streams read it, sent again on every new
 * connection (automatic resubscription).
 *
 * A recovering channel also keeps the position of the last publication it delivered
 * and resubscribes from it. While such a resubscription waits for its answer, the
 * publications the server sends (what was missed, then what is new) are held, so that a
 * gap the answer reports comes before them in the stream.
 */
import { InvalidArgumentsError } from "@effect-socketcluster/protocol"
import * as Cause from "effect/Cause"
import * as Queue from "effect/Queue"
import { fromWire, KickedOutError, type ServerError } from "../ClientError.js"
import type * as Recovery from "../Recovery.js"
import { readAck } from "../Recovery.js"
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

/** Options of a recovering subscription (its subscribe `data` is the recovery request). */
export interface RecoveringOptions {
  /** The server holds the subscription until the socket is authenticated. */
  readonly waitForAuth?: boolean | undefined
}

export type Subscriber = Queue.Queue<unknown, SubscriptionError | Cause.Done>
export type RecoveringSubscriber = Queue.Queue<Recovery.Event, SubscriptionError | Cause.Done>
/** A local reader of a channel: plain (the data) or recovering (events with positions). */
export type Member = { readonly plain: Subscriber } | { readonly recovering: RecoveringSubscriber }

/** A publication held while a resubscription waits for its answer. */
interface Held {
  readonly data: unknown
  readonly position: Recovery.Position | undefined
}

class Channel {
  readonly plain = new Set<Subscriber>()
  readonly recovering = new Set<RecoveringSubscriber>()
  subscribed = false
  /** The server confirmed this channel once: a later `#subscribe` is a resubscription. */
  confirmed = false
  /** The last position delivered (recovering channels only). */
  position: Recovery.Position | undefined
  /** Publications held while a recovering resubscription waits for its answer. */
  held: Array<Held> | undefined
  /** Callers of `join` waiting for the server's first confirmation. */
  waiting: Array<(error: SubscriptionError | undefined) => void> = []

  constructor(
    readonly name: string,
    readonly options: SubscribeOptions,
    readonly recovers: boolean
  ) {}

  get size(): number {
    return this.plain.size + this.recovering.size
  }
}

export class Channels {
  private readonly channels = new Map<string, Channel>()

  constructor(private readonly calls: Calls) {}

  /**
   * Adds a subscriber; `ready` is called once the server confirmed the channel (at once
   * when it already had), or with the error that refused it. A recovering subscriber
   * cannot join a channel subscribed without recovery (it would get no positions).
   */
  join(
    name: string,
    options: SubscribeOptions,
    subscriber: Member,
    link: Link | undefined,
    ready: (error: SubscriptionError | undefined) => void
  ): void {
    const recovers = "recovering" in subscriber
    let channel = this.channels.get(name)
    const fresh = channel === undefined
    if (channel === undefined) {
      channel = new Channel(name, options, recovers)
      this.channels.set(name, channel)
    } else if (recovers && !channel.recovers) {
      return ready(new InvalidArgumentsError({ message: `Channel '${name}' is subscribed without recovery` }))
    }
    if ("recovering" in subscriber) channel.recovering.add(subscriber.recovering)
    else channel.plain.add(subscriber.plain)
    if (!fresh && channel.subscribed) return ready(undefined)
    channel.waiting.push(ready)
    if (fresh && link !== undefined) this.request(channel, link)
  }

  /** Removes a subscriber; the last one out unsubscribes the channel on the server. */
  leave(name: string, subscriber: Member, link: Link | undefined): void {
    const channel = this.channels.get(name)
    if (channel === undefined) return
    const removed =
      "recovering" in subscriber
        ? channel.recovering.delete(subscriber.recovering)
        : channel.plain.delete(subscriber.plain)
    if (!removed || channel.size > 0) return
    this.channels.delete(name)
    // The real client never puts a cid on #unsubscribe.
    if (link !== undefined) link.send({ event: "#unsubscribe", data: name })
  }

  /** Every channel is subscribed again on a new connection. */
  opened(link: Link): void {
    for (const channel of this.channels.values()) this.request(channel, link)
  }

  /** What was held for an unanswered resubscription is dropped: it is asked for again. */
  closed(): void {
    for (const channel of this.channels.values()) {
      channel.subscribed = false
      channel.held = undefined
    }
  }

  deliver(name: string, data: unknown, position: Recovery.Position | undefined): void {
    const channel = this.channels.get(name)
    if (channel === undefined) return
    if (channel.held !== undefined) channel.held.push({ data, position })
    else this.deliverNow(channel, data, position)
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

  private deliverNow(channel: Channel, data: unknown, position: Recovery.Position | undefined): void {
    if (position !== undefined) {
      const last = channel.position
      // Already delivered (the server promises not to, but a position is cheap to check).
      if (last !== undefined && last.epoch === position.epoch && position.offset <= last.offset) return
      channel.position = position
    }
    for (const subscriber of channel.plain) Queue.offerUnsafe(subscriber, data)
    if (channel.recovering.size === 0) return
    const event: Recovery.Publication = { _tag: "Publication", data, position }
    for (const subscriber of channel.recovering) Queue.offerUnsafe(subscriber, event)
  }

  private emitGap(channel: Channel, gap: Recovery.Gap): void {
    for (const subscriber of channel.recovering) Queue.offerUnsafe(subscriber, gap)
  }

  private request(channel: Channel, link: Link): void {
    const cid = this.calls.next()
    const resubscribing = channel.recovers && channel.confirmed
    const since = channel.position
    if (resubscribing) channel.held = []
    this.calls.register(cid, {
      onAnswer: (error, answer) => {
        if (this.channels.get(channel.name) !== channel) return
        if (error !== undefined && error !== null) return this.fail(channel, fromWire(error))
        if (channel.recovers) this.recovered(channel, resubscribing, since, answer)
        channel.subscribed = true
        channel.confirmed = true
        const waiting = channel.waiting
        channel.waiting = []
        for (const ready of waiting) ready(undefined)
      },
      // Sent again on the next connection.
      onDrop: () => {}
    })
    const data: Record<string, unknown> = { channel: channel.name }
    if (channel.options.waitForAuth === true) data.waitForAuth = true
    if (channel.recovers)
      data.data = { recover: since === undefined ? true : { offset: since.offset, epoch: since.epoch } }
    else if (channel.options.data !== undefined) data.data = channel.options.data
    link.send({ event: "#subscribe", data, cid })
  }

  /** The answer to a recovering `#subscribe`: the gap first, then what was held. */
  private recovered(
    channel: Channel,
    resubscribing: boolean,
    since: Recovery.Position | undefined,
    answer: unknown
  ): void {
    const ack = readAck(answer)
    const held = channel.held ?? []
    channel.held = undefined
    if (resubscribing) {
      // Without a position nothing could be asked for: whatever was published meanwhile is lost.
      const reason = ack.gap ?? (since === undefined ? "NoHistory" : undefined)
      if (reason !== undefined) this.emitGap(channel, { _tag: "Gap", reason, since, position: ack.position })
    }
    for (const item of held) this.deliverNow(channel, item.data, item.position)
    const reported = ack.position
    const last = channel.position
    if (reported === undefined) return
    // After a read from a position the answer is where the replay ended (everything held
    // came before it); otherwise it is where the stream stood when the subscription began,
    // which counts only if nothing newer was delivered.
    if (since !== undefined || last === undefined || (last.epoch === reported.epoch && reported.offset > last.offset)) {
      channel.position = reported
    }
  }

  private fail(channel: Channel, error: SubscriptionError): void {
    this.channels.delete(channel.name)
    const waiting = channel.waiting
    channel.waiting = []
    for (const ready of waiting) ready(error)
    for (const subscriber of channel.plain) Queue.failCauseUnsafe(subscriber, Cause.fail(error))
    for (const subscriber of channel.recovering) Queue.failCauseUnsafe(subscriber, Cause.fail(error))
  }
}
