/**
 * Channel history: which channels keep their recent publications, and for how long.
 *
 * A broker with history numbers every publication on a channel (its `offset`, 1, 2, 3...)
 * and names each incarnation of the channel's stream (its `epoch`): when a stream is lost
 * (say, Redis restarted without persistence) the next publication starts a new stream
 * with a new epoch, so a reader holding an old position can tell "nothing happened" from
 * "history was lost".
 *
 * The policy is chosen per channel name by glob patterns (`*` matches any run of
 * characters); the first matching rule wins, else `default`.
 *
 * @example
 * ```ts
 * const history: History.HistoryConfig = {
 *   default: { length: 100, age: "2 minutes" },
 *   channels: [
 *     { pattern: "chat:*", history: { length: 1000, age: "1 hour" } },
 *     { pattern: "cursor:*", history: "off" }
 *   ]
 * }
 * ```
 */
import * as Duration from "effect/Duration"

/** How much of a channel's history to keep. */
export interface HistoryPolicy {
  /** At most this many publications (the newest). */
  readonly length: number
  /** Publications older than this are dropped (default: kept until pushed out by `length`). */
  readonly age?: Duration.Input | undefined
}

/** A policy, or `"off"`: the channel keeps nothing and its publications carry no offset. */
export type HistoryOption = HistoryPolicy | "off"

/** History settings of a broker. */
export interface HistoryConfig {
  /** For channels no rule matches (default {@link defaultPolicy}). */
  readonly default?: HistoryOption | undefined
  /** Rules by channel-name glob; the first match wins. */
  readonly channels?: ReadonlyArray<{ readonly pattern: string; readonly history: HistoryOption }> | undefined
}

/** The default: the last 1000 publications of every channel, for at most 2 minutes. */
export const defaultPolicy: HistoryPolicy = { length: 1000, age: "2 minutes" }

/** A policy with its age in milliseconds (`undefined`: no age bound). */
export interface ResolvedPolicy {
  readonly length: number
  readonly ageMs: number | undefined
}

/** Where a publication sits in its channel's history, or where a reader stands. */
export interface StreamPosition {
  /** The offset of the last publication seen (0: none yet). */
  readonly offset: number
  /** The stream's epoch ("" when the stream did not exist yet). */
  readonly epoch: string
}

/** A publication read back from history. */
export interface HistoricPublication {
  readonly offset: number
  readonly data: unknown
  /**
   * The data's JSON text when the broker holds it as text (the publisher's
   * `Payload.plainJson`, which the default codec writes for `data`): a replay frames it as
   * it is instead of encoding `data` again. Absent for data with binary parts.
   */
  readonly json?: string | undefined
}

/**
 * Why a history read cannot promise "exactly what you missed":
 * - `EpochChanged`: the stream was lost and restarted; `publications` is the whole new stream.
 * - `Trimmed`: some of the publications after the position were dropped (length or age).
 * - `Rewound`: the stream is behind the position (restored from an older snapshot).
 * - `NoHistory`: history is off for the channel.
 * - `Unavailable`: the history could not be read (the broker delivers live from there on).
 */
export type GapReason = "EpochChanged" | "Trimmed" | "Rewound" | "NoHistory" | "Unavailable"

/** The answer to a history read. */
export interface HistoryRead {
  /** What the stream holds after the position, oldest first. */
  readonly publications: ReadonlyArray<HistoricPublication>
  /** The stream's position at the time of the read (undefined with `NoHistory`). */
  readonly position: StreamPosition | undefined
  /** Undefined when `publications` is exactly everything published after the position. */
  readonly gap: GapReason | undefined
}

const globToRegExp = (pattern: string): RegExp =>
  new RegExp(`^${pattern.split("*").map(escapeRegExp).join(".*")}$`, "s")

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

const resolve = (option: HistoryOption): ResolvedPolicy | undefined => {
  if (option === "off") return undefined
  if (!Number.isInteger(option.length) || option.length < 1) {
    throw new RangeError(`History length must be a positive integer, got ${String(option.length)}`)
  }
  return {
    length: option.length,
    ageMs: option.age === undefined ? undefined : Duration.toMillis(Duration.fromInputUnsafe(option.age))
  }
}

/** Past this many distinct channel names the lookup cache starts afresh. */
const maxCached = 10_000

/**
 * Compiles a config into a lookup from channel name to its policy (`undefined`: history
 * off). Throws a `RangeError` for a length that is not a positive integer.
 */
export const compile = (config: HistoryConfig | undefined): ((channel: string) => ResolvedPolicy | undefined) => {
  const fallback = resolve(config?.default ?? defaultPolicy)
  const rules = (config?.channels ?? []).map((rule) => ({
    test: globToRegExp(rule.pattern),
    policy: resolve(rule.history)
  }))
  if (rules.length === 0) return () => fallback
  const cache = new Map<string, ResolvedPolicy | undefined>()
  return (channel) => {
    if (cache.has(channel)) return cache.get(channel)
    let policy = fallback
    for (const rule of rules) {
      if (rule.test.test(channel)) {
        policy = rule.policy
        break
      }
    }
    if (cache.size >= maxCached) cache.clear()
    cache.set(channel, policy)
    return policy
  }
}

/**
 * The answer for a reader at `since` given what a stream holds: `top` (its position) and
 * `retained` (its publications, oldest first). Shared by the brokers so that they agree
 * on what counts as a gap.
 */
export const readFrom = (
  since: StreamPosition,
  top: StreamPosition,
  retained: ReadonlyArray<HistoricPublication>
): HistoryRead => {
  // A reader that saw no stream yet (epoch "") missed nothing of the one that exists now.
  if (since.epoch !== top.epoch) {
    const first = retained[0]
    const whole = top.offset === 0 || (first !== undefined && first.offset === 1)
    return {
      publications: retained,
      position: top,
      gap: since.epoch !== "" ? "EpochChanged" : whole ? undefined : "Trimmed"
    }
  }
  if (since.offset > top.offset) return { publications: [], position: top, gap: "Rewound" }
  const after = retained.filter((p) => p.offset > since.offset)
  const first = after[0]
  const complete = since.offset === top.offset || (first !== undefined && first.offset === since.offset + 1)
  return { publications: after, position: top, gap: complete ? undefined : "Trimmed" }
}
