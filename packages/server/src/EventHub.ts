/**
 * Synchronous listeners plus a Stream view of the same events.
 *
 * Listeners run synchronously at the moment an event happens, which is what v14's
 * ordering guarantees need (a `connection` listener runs before the handshake answer is
 * written). A listener that throws is reported (`report`) and the others still run.
 * Streams are for Effect code: each stream run gets its own bounded buffer and the
 * server never waits for it; a consumer that falls `bufferSize` events behind loses the
 * oldest ones (sliding), so a slow consumer cannot block the server or grow its memory.
 * `endStreams` completes every stream (the server or socket is gone).
 *
 * A listener may name the kinds (`_tag`s) it wants: it then hears only those, and
 * `listens(kind)` tells an emitter whether an event of that kind has anybody to hear it,
 * so a per-subscribe or per-connection event nobody asked for is never built.
 */
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"

/** Events a stream consumer may fall behind by before it loses the oldest. */
export const bufferSize = 4096

interface Entry<A> {
  readonly on: (event: A) => void
  /** Set for a stream's listener: completes the stream. */
  readonly end: (() => void) | undefined
  /** The kinds this listener hears; undefined: every kind. */
  readonly kinds: ReadonlySet<string> | undefined
}

// Shared by every hub without listeners: most sockets never get one.
const none: ReadonlyArray<never> = []
const nothing: ReadonlySet<string> = new Set()

export class EventHub<A extends { readonly _tag: string }> {
  private entries: ReadonlyArray<Entry<A>> = none
  // The kinds somebody hears, or "all" (a listener without kinds): recomputed when a
  // listener comes or goes, so `listens` is one set lookup.
  private heard: ReadonlySet<string> | "all" = nothing
  private ended = false

  /** @param report receives what a throwing listener threw. */
  constructor(private readonly report: (error: unknown) => void) {}

  /** True when anybody listens to any kind. */
  get active(): boolean {
    return this.entries.length > 0
  }

  /** True when an event of `kind` would reach a listener (lets callers skip building it). */
  listens(kind: A["_tag"]): boolean {
    const heard = this.heard
    return heard === "all" || heard.has(kind)
  }

  /**
   * Adds a synchronous listener, of every event or only of the `kinds` given; returns the
   * function that removes it.
   */
  listen(listener: (event: A) => void, kinds?: ReadonlyArray<A["_tag"]>): () => void {
    return this.add({ on: listener, end: undefined, kinds: kinds === undefined ? undefined : new Set(kinds) })
  }

  private add(entry: Entry<A>): () => void {
    this.setEntries([...this.entries, entry])
    return () => {
      this.setEntries(this.entries.filter((e) => e !== entry))
    }
  }

  private setEntries(entries: ReadonlyArray<Entry<A>>): void {
    this.entries = entries
    const heard = new Set<string>()
    for (const e of entries) {
      if (e.kinds === undefined) {
        this.heard = "all"
        return
      }
      for (const kind of e.kinds) heard.add(kind)
    }
    this.heard = heard.size === 0 ? nothing : heard
  }

  emit(event: A): void {
    // Copy-on-write list: a listener that removes itself does not disturb this loop.
    const entries = this.entries
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!
      if (entry.kinds !== undefined && !entry.kinds.has(event._tag)) continue
      try {
        entry.on(event)
      } catch (error) {
        this.report(error)
      }
    }
  }

  /** Completes every running stream, and makes later ones complete at once. Listeners stay. */
  endStreams(): void {
    if (this.ended) return
    this.ended = true
    const entries = this.entries
    this.setEntries(entries.filter((e) => e.end === undefined))
    for (const e of entries) e.end?.()
  }

  /** The events as a stream, from the moment the stream starts, after `initial()` (a state to catch up on). */
  stream(initial?: () => ReadonlyArray<A>): Stream.Stream<A> {
    return Stream.callback<A>(
      (queue) => {
        for (const event of initial?.() ?? none) Queue.offerUnsafe(queue, event)
        if (this.ended) {
          Queue.endUnsafe(queue)
          return Effect.void
        }
        const remove = this.add({
          on: (event) => {
            Queue.offerUnsafe(queue, event)
          },
          end: () => {
            Queue.endUnsafe(queue)
          },
          kinds: undefined
        })
        return Effect.addFinalizer(() => Effect.sync(remove))
      },
      { bufferSize, strategy: "sliding" }
    )
  }
}
