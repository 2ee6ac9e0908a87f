/**
 * Client-requested recovery: the wire shape a subscriber uses to get what it missed.
 *
 * A client asks with the subscribe `data` (v14: `socket.subscribe(channel, { data })`):
 *
 * - `{ "recover": true }`: "I have no position yet; tell me offsets from now on".
 * - `{ "recover": { "offset": 41, "epoch": "1764620000.123456" } }`: "the last publication
 *   I got on this channel was offset 41 of that epoch; send me what came after".
 *
 * Such a subscription's `#publish` frames carry `offset` and `epoch` next to `channel`
 * and `data`, and the subscribe answer carries a {@link RecoveryAck} as its `data`.
 * Missed publications are sent (as ordinary `#publish` frames, oldest first) before the
 * answer and before any live publication. Every other subscription sees nothing new.
 */

/** A subscriber's recovery request, decoded from its subscribe `data`. */
export interface RecoverRequest {
  /** Where the subscriber stands; undefined for `recover: true`. */
  readonly since: { readonly offset: number; readonly epoch: string } | undefined
}

/** The subscribe answer's `data` for a subscription that asked for recovery. */
export interface RecoveryAck {
  /** The position of the last publication sent to this subscription (absent without history). */
  readonly offset?: number
  readonly epoch?: string
  /** How many missed publications were sent before this answer. */
  readonly replayed: number
  /**
   * Set when what was sent may not be everything missed: `EpochChanged`, `Trimmed`,
   * `Rewound` or `NoHistory` (see `History.GapReason`). Absent: exactly what was missed.
   */
  readonly gap?: string
}

/** Longer epochs are not ours: the request is then an ordinary subscribe `data`. */
const maxEpochLength = 64

const isRecord = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * Reads a recovery request out of subscribe `data`; undefined when the data is not
 * exactly one of the two shapes (the subscription is then an ordinary one). Total: never
 * throws, whatever the input.
 */
export const decodeRecoverRequest = (data: unknown): RecoverRequest | undefined => {
  if (!isRecord(data) || !Object.hasOwn(data, "recover")) return undefined
  const recover = data.recover
  if (recover === true) return { since: undefined }
  if (!isRecord(recover)) return undefined
  const { offset, epoch } = recover
  if (typeof offset !== "number" || !Number.isSafeInteger(offset) || offset < 0) return undefined
  if (typeof epoch !== "string" || epoch.length > maxEpochLength) return undefined
  return { since: { offset, epoch } }
}
