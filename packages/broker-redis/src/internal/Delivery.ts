/**
 * What the single-node and the cluster broker share on the way in: handing a Redis
 * message to the publication handlers, through history recovery for history channels.
 */
import { Broker, History, Payload } from "@effect-socketcluster/server"
import * as Effect from "effect/Effect"
import * as PubSub from "effect/PubSub"
import type * as Scope from "effect/Scope"
import { Recovery } from "./Recovery.js"
import * as StreamScripts from "./StreamScripts.js"

/** Calls every handler; a throwing handler is logged and does not stop the others (nor the Redis reply parser). */
export const makeDeliver =
  (handlers: ReadonlySet<Broker.PublicationHandler>, label: string) =>
  (channel: string, data: unknown, offset?: number, epoch?: string, json?: string): void => {
    for (const handler of handlers) {
      try {
        handler(channel, data, offset, epoch, json)
      } catch (error) {
        Effect.runFork(Effect.logWarning(`${label}: publication handler threw`, error))
      }
    }
  }

/**
 * The JSON text of a `payload` that decoded to `data` on the plain path ("J" + JSON): what
 * the publisher's `Payload.encode` wrote (`JSON.stringify` of the data, the text the
 * default codec writes for it), handed to fan-out so it frames the text as it came instead
 * of encoding the data again, as it does the memory broker's. Undefined for the binary
 * path, for `undefined`, and for "J" text that did not parse (`decode` gave the payload
 * back as a string, which can never equal a string it decoded: that one's JSON is longer).
 */
export const plainJsonOf = (payload: string, data: unknown): string | undefined =>
  payload.charCodeAt(0) === 74 /* J */ && data !== payload ? payload.slice(1) : undefined

/** A message on `channel` (already known to be live): plain, or an announcement with offset and epoch. */
export const receive = (
  channel: string,
  message: string,
  recovery: Recovery,
  deliver: ReturnType<typeof makeDeliver>
): void => {
  const announcement = StreamScripts.parseAnnouncement(message)
  const payload = announcement === undefined ? message : announcement.payload
  const data = Payload.decode(payload)
  const json = plainJsonOf(payload, data)
  if (announcement === undefined) deliver(channel, data, undefined, undefined, json)
  else if (recovery.has(channel)) recovery.announce(channel, announcement.offset, announcement.epoch, data, json)
  else deliver(channel, data, announcement.offset, announcement.epoch, json)
}

/** A publication read back from a stream entry, with the publisher's JSON text when it came on the plain path. */
const historic = (offset: number, payload: string): History.HistoricPublication => {
  const data = Payload.decode(payload)
  return { offset, data, json: plainJsonOf(payload, data) }
}

/** The answer to a history read from the reply of the `read` script. */
export const historyRead = (reply: unknown, since: History.StreamPosition): History.HistoryRead => {
  const { top, retained } = StreamScripts.parseRead(reply, historic)
  return History.readFrom(since, top, retained)
}

/** The answer for a channel whose history is off. */
export const noHistory: History.HistoryRead = { publications: [], position: undefined, gap: "NoHistory" }

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/** Encodes publication data for Redis, or fails with the `BrokerError` the publisher gets. */
export const encodePublication = (data: unknown): Effect.Effect<string, Broker.BrokerError> =>
  Effect.try({
    try: () => Payload.encode(data),
    catch: (error) => new Broker.BrokerError({ message: `Cannot encode publication: ${describe(error)}` })
  })

/** Settles a Redis command's promise into the publisher's answer. */
export const settle = (
  sent: Promise<unknown>,
  unavailable: (error: unknown) => Broker.BrokerError
): Effect.Effect<void, Broker.BrokerError> =>
  Effect.callback<void, Broker.BrokerError>((resume) => {
    sent.then(
      () => resume(Effect.void),
      (error: unknown) => resume(Effect.fail(unavailable(error)))
    )
  })

/** The inbound side of a Redis broker: its handlers, its recovery, and what a Redis message does. */
export interface Inbound {
  readonly deliver: ReturnType<typeof makeDeliver>
  readonly recovery: Recovery
  /** A message on a live `channel`. */
  readonly receive: (channel: string, message: string) => void
  /** `BrokerShape.onPublication`. */
  readonly onPublication: (handler: Broker.PublicationHandler) => Effect.Effect<void, never, Scope.Scope>
}

export const makeInbound = (options: {
  readonly label: string
  readonly read: (channel: string, since: History.StreamPosition) => Promise<History.HistoryRead>
  readonly notices: PubSub.PubSub<Broker.BrokerNotice>
  readonly stats: Broker.BrokerStats
}): Inbound => {
  const handlers = new Set<Broker.PublicationHandler>()
  const deliver = makeDeliver(handlers, options.label)
  const recovery = new Recovery({
    deliver,
    read: options.read,
    notice: (notice) => PubSub.publishUnsafe(options.notices, notice),
    stats: options.stats
  })
  return {
    deliver,
    recovery,
    receive: (channel, message) => receive(channel, message, recovery, deliver),
    onPublication: (handler) => Broker.addHandler(handlers, handler)
  }
}

/** A channel's position from `HMGET <meta> o e`. */
export const positionFrom = ([offset, epoch]: ReadonlyArray<string | null | undefined>): History.StreamPosition => ({
  offset: Number(offset ?? 0),
  epoch: epoch ?? ""
})
