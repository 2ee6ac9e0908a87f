/**
 * One channel's retained publications in the memory broker, kept as bytes.
 *
 * Why bytes: a publication kept as its JS value lives as long as the channel's history
 * (1,000 newer publications by default), long enough for V8 to promote it, and under a
 * flood that is megabytes of old-space garbage per second and a young generation grown
 * to its maximum by the survivors. Here each publication is written once, as its JSON
 * (or, with binary parts, its {@link Payload} text), into one growable byte buffer per
 * channel (outside the JS heap), with its time and place in one typed array: the
 * publication's own objects die young, and the channel holds a fixed handful of objects
 * whatever it retains. Reads (recovery)
 * decode the bytes back, so a replayed publication equals the one sent live as the
 * Redis broker's do (see {@link Payload}: `toJSON` runs, Buffers stay Buffers).
 *
 * Data that has no such text (a BigInt, a cycle, a bare function) is kept as its value,
 * aside: the history stays exact for it, and only such publications cost JS objects.
 */
import type { HistoricPublication, ResolvedPolicy } from "./History.js"
import * as Payload from "./Payload.js"

/** Per entry in `meta`: publication time (ms), absolute start of its bytes, their length, their {@link Kind}. */
const slots = 4

/** What an entry's bytes are: the data's plain JSON, its `Payload` text, or nothing (its value is kept aside). */
enum Kind {
  Json = 0,
  Text = 1,
  Aside = 2
}
const initialEntries = 4
const initialBytes = 1024
const noBytes = Buffer.alloc(0)

/** `ArrayBuffer.prototype.transfer` (ES2024; Node 21+): moves the memory into a new buffer and frees the old one's at once. */
const canTransfer = (memory: ArrayBufferLike): memory is ArrayBuffer & { transfer(length: number): ArrayBuffer } =>
  "transfer" in memory && typeof memory.transfer === "function"

/** A channel's history stream: its epoch, its top offset and the newest publications. */
export class HistoryBuffer {
  /** The offset of the newest publication (0: none yet). */
  top = 0
  /** When the newest publication was made. */
  lastAt = 0
  /** How many publications are retained: offsets `top - count + 1` to `top`. */
  count = 0
  /** Ring of `slots` numbers per retained entry; `first` is the oldest's index. */
  private meta = new Float64Array(initialEntries * slots)
  private first = 0
  private bytes: Buffer = noBytes
  /** The absolute byte position of `bytes[0]`, and the one after the newest entry's bytes. */
  private base = 0
  private end = 0
  /** Values without a text form, by offset (rare). */
  private aside: Map<number, unknown> | undefined

  constructor(readonly epoch: string) {}

  /**
   * Appends a publication given as its plain JSON (`Payload.plainJson`), else as its
   * `Payload` text, else (neither: it has no text form) as its value; drops what the
   * policy and `maxBytes` no longer allow; returns its offset.
   */
  append(
    data: unknown,
    json: string | undefined,
    payload: string | undefined,
    now: number,
    policy: ResolvedPolicy,
    maxBytes: number
  ): number {
    const offset = ++this.top
    this.lastAt = now
    const text = json ?? payload
    const size = text === undefined ? 0 : Buffer.byteLength(text)
    if (size > maxBytes) {
      // Too big to retain at all: what came before is older still, so it goes too.
      while (this.count > 0) this.dropOldest()
      this.release()
      return offset
    }
    while (this.count >= policy.length || (this.count > 0 && this.end - this.oldestStart() + size > maxBytes)) {
      this.dropOldest()
    }
    this.trimAge(policy, now)
    if (this.count === this.meta.length / slots) this.growEntries(policy.length)
    let start = this.end
    if (text === undefined) {
      if (this.aside === undefined) this.aside = new Map()
      this.aside.set(offset, data)
    } else {
      this.reserve(size)
      start = this.end
      this.bytes.write(text, start - this.base, size, "utf8")
      this.end = start + size
    }
    const i = ((this.first + this.count) % (this.meta.length / slots)) * slots
    this.meta[i] = now
    this.meta[i + 1] = start
    this.meta[i + 2] = size
    this.meta[i + 3] = json !== undefined ? Kind.Json : text !== undefined ? Kind.Text : Kind.Aside
    this.count++
    return offset
  }

  /** Drops the publications older than the policy's age. */
  trimAge(policy: ResolvedPolicy, now: number): void {
    if (policy.ageMs === undefined) return
    const cutoff = now - policy.ageMs
    while (this.count > 0 && this.meta[this.first * slots]! < cutoff) this.dropOldest()
    if (this.count === 0 && this.bytes !== noBytes) this.release()
  }

  /** The retained publications after `offset` (all of them for 0), oldest first. */
  readAfter(offset: number): Array<HistoricPublication> {
    const oldest = this.top - this.count + 1
    const out: Array<HistoricPublication> = []
    const capacity = this.meta.length / slots
    for (let k = Math.max(0, offset - oldest + 1); k < this.count; k++) {
      const i = ((this.first + k) % capacity) * slots
      const start = this.meta[i + 1]! - this.base
      const size = this.meta[i + 2]!
      const kind = this.meta[i + 3]
      const at = oldest + k
      if (kind === Kind.Aside) {
        out.push({ offset: at, data: this.aside?.get(at), json: undefined })
        continue
      }
      const text = this.bytes.toString("utf8", start, start + size)
      // The plain JSON goes along, so a replay frames it without encoding the data again.
      out.push(
        kind === Kind.Json
          ? { offset: at, data: JSON.parse(text), json: text }
          : { offset: at, data: Payload.decode(text), json: undefined }
      )
    }
    return out
  }

  /** Bytes held outside the JS heap for this stream (its buffer's capacity). */
  get capacityBytes(): number {
    return this.bytes.length
  }

  private oldestStart(): number {
    return this.meta[this.first * slots + 1]!
  }

  private dropOldest(): void {
    if (this.aside !== undefined && this.meta[this.first * slots + 3] === Kind.Aside) {
      this.aside.delete(this.top - this.count + 1)
      if (this.aside.size === 0) this.aside = undefined
    }
    this.first = (this.first + 1) % (this.meta.length / slots)
    this.count--
  }

  // Nothing retained (aged out, or too big to keep): a quiet channel keeps only its offsets.
  private release(): void {
    this.first = 0
    this.bytes = noBytes
    this.base = this.end
  }

  private growEntries(limit: number): void {
    const capacity = this.meta.length / slots
    const next = new Float64Array(Math.min(capacity * 2, Math.max(limit, capacity + 1)) * slots)
    for (let k = 0; k < this.count; k++) {
      const i = ((this.first + k) % capacity) * slots
      next.set(this.meta.subarray(i, i + slots), k * slots)
    }
    this.meta = next
    this.first = 0
  }

  // Room for `size` more bytes after `end`: compact in place when the buffer holds half as
  // much again as the live bytes need, else grow it to that (each byte is moved O(1) times
  // on average). Growing transfers the old memory, so it goes now rather than at a full GC
  // (a long-lived buffer's wrapper is old, and a flood runs no full GC).
  private reserve(size: number): void {
    if (this.end - this.base + size <= this.bytes.length) return
    const live = this.count === 0 ? 0 : this.end - this.oldestStart()
    const from = this.end - live
    // A channel's first buffer is small: most channels retain little, and each buffer is
    // memory outside the heap that V8 counts towards its next GC (10,000 channels at a
    // publication each are 10 MiB at 1 KiB, 40 at 4 KiB). Past it, whole pages.
    const wanted = (live + size) * 1.5
    const capacity = wanted <= initialBytes ? initialBytes : Math.ceil(wanted / 4096) * 4096
    const old = this.bytes
    if (live > 0) old.copy(old, 0, from - this.base, this.end - this.base)
    if (capacity > old.length) {
      const memory = old.buffer
      if (old.length > 0 && old.byteOffset === 0 && old.length === memory.byteLength && canTransfer(memory)) {
        this.bytes = Buffer.from(memory.transfer(capacity))
      } else {
        this.bytes = Buffer.allocUnsafeSlow(capacity)
        old.copy(this.bytes, 0, 0, live)
      }
    }
    this.base = from
  }
}
