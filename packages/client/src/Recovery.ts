/**
 * What a recovering subscription (`client.subscribeRecovering`) carries: its
 * publications with their position in the channel's history, and a {@link Gap} when a
 * resubscription could not get back everything published while the client was away.
 *
 * The wire is the server's channel recovery (this project's server with a broker that
 * keeps history): the client subscribes with `{recover: true}`, remembers the `offset`
 * and `epoch` of the last publication it delivered, and after a reconnect subscribes
 * with `{recover: {offset, epoch}}`; the server sends what was missed before anything new.
 *
 * @example
 * ```ts
 * client.subscribeRecovering("chat").pipe(
 *   Stream.runForEach((event) =>
 *     event._tag === "Gap"
 *       ? Console.warn(`missed publications (${event.reason}): reload the history`)
 *       : Console.log(event.data)
 *   )
 * )
 * ```
 *
 * @since 0.2.0
 */
import * as Schema from "effect/Schema"

/**
 * A place in a channel's history: the `offset` of a publication (1, 2, 3…) in the stream
 * named `epoch` (a new epoch means the history was lost and started again).
 *
 * @since 0.2.0
 */
export interface Position {
  readonly offset: number
  readonly epoch: string
}

/**
 * Why a resubscription cannot promise that nothing was missed:
 * - `Trimmed`: history no longer holds some of what was published (too old, or pushed
 *   out by newer publications); what it still held follows the gap.
 * - `EpochChanged`: the channel's history was lost and started again; what the new
 *   stream holds follows the gap.
 * - `Rewound`: history is behind the position (restored from an older copy).
 * - `NoHistory`: the channel keeps no history (or the client never got a position).
 * - `Unavailable`: the server could not read its history.
 * - `Unsupported`: the server does not do recovery (e.g. the original
 *   socketcluster-server): the subscription is an ordinary one.
 *
 * @since 0.2.0
 */
export const GapReason = Schema.Literals([
  "Trimmed",
  "EpochChanged",
  "Rewound",
  "NoHistory",
  "Unavailable",
  "Unsupported"
])

/** @since 0.2.0 */
export type GapReason = typeof GapReason.Type

/**
 * A publication, with its position (absent on channels without history, or when the
 * server's publishOut middleware rewrote it).
 *
 * @since 0.2.0
 */
export interface Publication {
  readonly _tag: "Publication"
  readonly data: unknown
  readonly position: Position | undefined
}

/**
 * Some publications may be missing here: comes right after the publications received
 * before the connection dropped, and before those the server sent on resubscribing.
 * `since` is where the subscription stood, `position` where the server says it stands
 * now.
 *
 * @since 0.2.0
 */
export interface Gap {
  readonly _tag: "Gap"
  readonly reason: GapReason
  readonly since: Position | undefined
  readonly position: Position | undefined
}

/**
 * An element of a recovering subscription's stream.
 *
 * @since 0.2.0
 */
export type Event = Publication | Gap

const Offset = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
const Epoch = Schema.String.check(Schema.isMaxLength(64))

/**
 * The subscribe answer's `data` for a subscription that asked for recovery (see the
 * server README, "Client-requested recovery").
 *
 * @since 0.2.0
 */
export const RecoveryAck = Schema.Struct({
  offset: Schema.optionalKey(Offset),
  epoch: Schema.optionalKey(Epoch),
  replayed: Offset,
  gap: Schema.optionalKey(Schema.String)
})

/**
 * A `#publish` frame's `data` on a recovering subscription: the publication and its position.
 *
 * @since 0.2.0
 */
export const PositionedPublishData = Schema.Struct({
  channel: Schema.String,
  data: Schema.optionalKey(Schema.Json),
  offset: Offset,
  epoch: Epoch
})

const decodeAck = Schema.decodeUnknownOption(RecoveryAck)

const isGapReason = Schema.is(GapReason)

/** What a subscribe answer says about recovery. */
export interface AckReading {
  /** The position the server reports, if any. */
  readonly position: Position | undefined
  /** The gap it reports; `Unsupported` when the answer is not a recovery answer at all. */
  readonly gap: GapReason | undefined
}

/**
 * Reads a subscribe answer's `data`; total (an unknown gap reason reads as `Unavailable`:
 * the server could not promise completeness, whatever its words).
 *
 * @since 0.2.0
 */
export const readAck = (data: unknown): AckReading => {
  const ack = decodeAck(data)
  if (ack._tag === "None") return { position: undefined, gap: "Unsupported" }
  const { offset, epoch, gap } = ack.value
  return {
    position: offset !== undefined && epoch !== undefined ? { offset, epoch } : undefined,
    gap: gap === undefined ? undefined : isGapReason(gap) ? gap : "Unavailable"
  }
}
