/**
 * Exactly-once, in-order delivery of history channels across connection outages.
 *
 * For every live channel with history this process remembers the last offset it
 * delivered (and the stream's epoch). A publication is delivered live only when it is
 * the next one; an older one is a duplicate and dropped; anything else (a jump, a new
 * epoch) means something was missed, and the channel is caught up from history first.
 * While a channel catches up, its live publications wait in a buffer and are delivered
 * after the history, minus what the history already covered. When the connection goes
 * down every channel starts buffering; when it is back every channel catches up
 * (`resumeAll`) before its live publications flow again.
 */
import type { Broker, History } from "@effect-socketcluster/server"

interface Buffered {
  readonly offset: number
  readonly epoch: string
  readonly data: unknown
  /** Its JSON text, when it came on the plain path (see `plainJsonOf`). */
  readonly json: string | undefined
}

interface Tracked {
  /** Subscribed, but where the stream stood is not known yet: every publication is delivered. */
  pending: boolean
  /** Last delivered position (or where the channel stood when it was subscribed). */
  offset: number
  epoch: string
  /** Present while catching up or while the connection is down. */
  buffer: Array<Buffered> | undefined
  /** A history read for this channel is under way. */
  reading: boolean
  /** A catch-up was asked for while one was under way: run again after it. */
  again: boolean
}

export interface RecoveryHost {
  readonly deliver: (channel: string, data: unknown, offset: number, epoch: string, json?: string) => void
  readonly read: (channel: string, since: History.StreamPosition) => Promise<History.HistoryRead>
  readonly notice: (notice: Broker.BrokerNotice) => void
  readonly stats: Broker.BrokerStats
}

export class Recovery {
  private readonly channels = new Map<string, Tracked>()
  private suspended = false

  constructor(private readonly host: RecoveryHost) {}

  /**
   * Starts tracking `channel`, subscribed just now; {@link settle} says where its stream
   * stood. Until then its publications are delivered as they come (they are newer than
   * the subscription).
   */
  track(channel: string): void {
    this.channels.set(channel, {
      pending: true,
      offset: 0,
      epoch: "",
      buffer: this.suspended ? [] : undefined,
      reading: false,
      again: false
    })
  }

  /**
   * Catches `channel` up from history now (its live publications wait meanwhile): for a
   * channel whose position was read before its subscription took effect.
   */
  resync(channel: string): Promise<void> {
    const state = this.channels.get(channel)
    if (state === undefined) return Promise.resolve()
    state.buffer ??= []
    return this.catchUp(channel, state, false)
  }

  /** Where `channel`'s stream stood right after it was subscribed. */
  settle(channel: string, position: History.StreamPosition): void {
    const state = this.channels.get(channel)
    if (state === undefined || !state.pending) return
    state.pending = false
    // Publications already delivered while pending are the newer word, unless they belong to the same stream and are older.
    if (state.epoch === "" || (state.epoch === position.epoch && state.offset < position.offset)) {
      state.offset = position.offset
      state.epoch = position.epoch
    }
  }

  untrack(channel: string): void {
    this.channels.delete(channel)
  }

  /** Whether `channel` is tracked (has history and is live). */
  has(channel: string): boolean {
    return this.channels.has(channel)
  }

  /** A publication announced live on a tracked channel. */
  announce(channel: string, offset: number, epoch: string, data: unknown, json: string | undefined): void {
    const state = this.channels.get(channel)
    if (state === undefined) return
    if (state.buffer !== undefined) {
      state.buffer.push({ offset, epoch, data, json })
      return
    }
    if (this.accept(channel, state, offset, epoch, data, json)) return
    state.buffer = [{ offset, epoch, data, json }]
    void this.catchUp(channel, state)
  }

  /** The connection went down: every channel buffers until {@link resumeAll}. */
  suspend(): void {
    this.suspended = true
    for (const state of this.channels.values()) state.buffer ??= []
  }

  /** The connection is back: catches every channel up; resolves with the totals once all are live. */
  async resumeAll(): Promise<{ readonly channels: number; readonly replayed: number }> {
    this.suspended = false
    const before = this.host.stats.replayed
    const pending: Array<Promise<void>> = []
    for (const [channel, state] of this.channels) {
      state.buffer ??= []
      pending.push(this.catchUp(channel, state))
    }
    await Promise.all(pending)
    return { channels: pending.length, replayed: this.host.stats.replayed - before }
  }

  private giveUp(channel: string, state: Tracked, previous: History.StreamPosition): void {
    this.host.stats.gaps++
    this.host.notice({ _tag: "HistoryGap", channel, reason: "Unavailable", previous, position: undefined })
    const buffer = state.buffer ?? []
    state.buffer = undefined
    for (const item of buffer) {
      if (item.epoch === state.epoch && item.offset <= state.offset) continue
      state.offset = item.offset
      state.epoch = item.epoch
      this.host.deliver(channel, item.data, item.offset, item.epoch, item.json)
    }
  }

  // Delivers when `offset` is the next publication; drops duplicates. False: something was missed.
  private accept(
    channel: string,
    state: Tracked,
    offset: number,
    epoch: string,
    data: unknown,
    json: string | undefined
  ): boolean {
    if (state.pending) {
      // Nothing to compare with yet.
    } else if (epoch === state.epoch) {
      if (offset <= state.offset) return true
      if (offset !== state.offset + 1) return false
    } else if (!(state.epoch === "" && offset === 1)) {
      return false
    }
    state.offset = offset
    state.epoch = epoch
    this.host.deliver(channel, data, offset, epoch, json)
    return true
  }

  private async catchUp(channel: string, state: Tracked, counted = true): Promise<void> {
    if (state.reading) {
      state.again = true
      return
    }
    state.reading = true
    state.again = false
    try {
      // Loops while live publications arrive out of line with what the read returned.
      for (;;) {
        const previous = { offset: state.offset, epoch: state.epoch }
        let read: History.HistoryRead
        try {
          read = await this.host.read(channel, previous)
        } catch {
          // The connection failed again: the next resumeAll retries. Connected but unreadable:
          // say so and let live delivery go on rather than hold the channel forever.
          if (!this.suspended && this.channels.get(channel) === state) this.giveUp(channel, state, previous)
          return
        }
        if (this.channels.get(channel) !== state || this.suspended) return
        if (counted) this.host.stats.recoveries++
        if (read.gap !== undefined) {
          this.host.stats.gaps++
          this.host.notice({ _tag: "HistoryGap", channel, reason: read.gap, previous, position: read.position })
        }
        const top = read.position
        if (top === undefined) return
        const fresh = top.epoch !== state.epoch
        for (const p of read.publications) {
          if (!fresh && p.offset <= state.offset) continue
          this.host.deliver(channel, p.data, p.offset, top.epoch, p.json)
          this.host.stats.replayed++
        }
        state.offset = top.offset
        state.epoch = top.epoch
        const buffer = state.buffer ?? []
        state.buffer = undefined
        let missed: Array<Buffered> | undefined
        for (const item of buffer) {
          if (missed !== undefined) missed.push(item)
          else if (!this.accept(channel, state, item.offset, item.epoch, item.data, item.json)) missed = [item]
        }
        if (missed === undefined) return
        state.buffer = missed
      }
    } finally {
      state.reading = false
    }
    if (state.again && !this.suspended && this.channels.get(channel) === state) await this.catchUp(channel, state)
  }
}
