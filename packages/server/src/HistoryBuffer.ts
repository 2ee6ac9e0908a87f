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
 * Until a channel retains more than {@link inlineBytes} of text it has no buffer: its few
 * small publications are kept as the strings they came as. Every channel's first
 * publication used to allocate a buffer (1 KiB outside the heap) and a Float64Array ring;
 * when 10,000 channels start at once, those young objects are what the next scavenges
 * copy (a channel with one publication: 687 bytes of heap and 1,152 outside it, now 501
 * and 0; the bench's many-clients fixed-rate phase: scavenges ~25 % shorter). The strings
 * are bounded per channel, so a flood still leaves no per-publication JS objects behind.
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
const initialEntries = 2
/** A channel's retained text is kept as strings up to this size; past it, in bytes. */
const inlineBytes = 256
const initialBytes = 1024
const noBytes = Buffer.alloc(0)

/**
 * A ring of `entries` entries of `slots` numbers: a plain array (V8 keeps the numbers
 * unboxed in it) rather than a Float64Array, whose ArrayBuffer is two more objects per
 * channel and one more for every scavenge to sweep while the channel is young.
 */
// Filled with a double, so the array holds doubles from the start (no transition from small integers).
const entryRing = (entries: number): Array<number> => new Array<number>(entries * slots).fill(0.5)

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
  private meta = entryRing(initialEntries)
  private first = 0
  private bytes: Buffer = noBytes
  /** The absolute byte position of `bytes[0]`, and the one after the newest entry's bytes. */
  private base = 0
  private end = 0
  /** Values without a text form, by offset (rare). */
  private aside: Map<number, unknown> | undefined
  /** While nothing needed a buffer (see {@link inlineBytes}): each entry's text, by ring slot. */
  private texts: Array<string | undefined> | undefined

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
    // `top` moves on only after the drops: `dropOldest` finds the oldest's offset from it.
    const offset = this.top + 1
    this.lastAt = now
    const text = json ?? payload
    const size = text === undefined ? 0 : Buffer.byteLength(text)
    if (size > maxBytes) {
      // Too big to retain at all: what came before is older still, so it goes too.
      while (this.count > 0) this.dropOldest()
      this.release()
      this.top = offset
      return offset
    }
    while (this.count >= policy.length || (this.count > 0 && this.end - this.oldestStart() + size > maxBytes)) {
      this.dropOldest()
    }
    this.trimAge(policy, now)
    this.top = offset
    if (this.count === this.meta.length / slots) this.growEntries(policy.length)
    let start = this.end
    if (text === undefined) {
      if (this.aside === undefined) this.aside = new Map()
      this.aside.set(offset, data)
    } else if (this.bytes === noBytes && this.liveBytes() + size <= inlineBytes) {
      // Sized to the ring: an array grown from [] would take 17 slots for its first string.
      this.texts ??= new Array<string | undefined>(this.meta.length / slots)
      this.texts[(this.first + this.count) % (this.meta.length / slots)] = text
      this.end = start + size
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
    if (this.count === 0 && (this.bytes !== noBytes || this.texts !== undefined)) this.release()
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
      const text = this.texts?.[i / slots] ?? this.bytes.toString("utf8", start, start + size)
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

  private liveBytes(): number {
    return this.count === 0 ? 0 : this.end - this.oldestStart()
  }

  private dropOldest(): void {
    if (this.aside !== undefined && this.meta[this.first * slots + 3] === Kind.Aside) {
      this.aside.delete(this.top - this.count + 1)
      if (this.aside.size === 0) this.aside = undefined
    }
    if (this.texts !== undefined) this.texts[this.first] = undefined
    this.first = (this.first + 1) % (this.meta.length / slots)
    this.count--
  }

  // Nothing retained (aged out, or too big to keep): a quiet channel keeps only its offsets.
  private release(): void {
    this.first = 0
    this.bytes = noBytes
    this.texts = undefined
    this.base = this.end
  }

  private growEntries(limit: number): void {
    const capacity = this.meta.length / slots
    const next = entryRing(Math.min(capacity * 2, Math.max(limit, capacity + 1)))
    const texts = this.texts === undefined ? undefined : new Array<string | undefined>(next.length / slots)
    for (let k = 0; k < this.count; k++) {
      const slot = (this.first + k) % capacity
      for (let j = 0; j < slots; j++) next[k * slots + j] = this.meta[slot * slots + j]!
      if (texts !== undefined) texts[k] = this.texts?.[slot]
    }
    this.meta = next
    this.texts = texts
    this.first = 0
  }

  // Room for `size` more bytes after `end`: compact in place when the buffer holds half as
  // much again as the live bytes need, else grow it to that (each byte is moved O(1) times
  // on average). Growing transfers the old memory, so it goes now rather than at a full GC
  // (a long-lived buffer's wrapper is old, and a flood runs no full GC).
  private reserve(size: number): void {
    if (this.end - this.base + size <= this.bytes.length) return
    const live = this.liveBytes()
    const from = this.end - live
    // A channel's first buffer is small: most channels retain little, and each buffer is
    // memory outside the heap that V8 counts towards its next GC (10,000 channels past
    // `inlineBytes` are 10 MiB at 1 KiB, 40 at 4 KiB). Past it, whole pages.
    const wanted = (live + size) * 1.5
    const capacity = wanted <= initialBytes ? initialBytes : Math.ceil(wanted / 4096) * 4096
    if (this.texts !== undefined) return this.moveTexts(this.texts, capacity, from)
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

  // The strings kept so far go into the channel's first buffer, each where its entry says.
  private moveTexts(texts: ReadonlyArray<string | undefined>, capacity: number, from: number): void {
    this.texts = undefined
    this.bytes = Buffer.allocUnsafeSlow(capacity)
    this.base = from
    const entries = this.meta.length / slots
    for (let k = 0; k < this.count; k++) {
      const slot = (this.first + k) % entries
      const text = texts[slot]
      if (text !== undefined)
        this.bytes.write(text, this.meta[slot * slots + 1]! - from, this.meta[slot * slots + 2]!, "utf8")
    }
  }
}
