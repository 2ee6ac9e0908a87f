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
 */
import { Effect, Queue, Stream } from "effect"

/** Events a stream consumer may fall behind by before it loses the oldest. */
export const bufferSize = 4096

interface Entry<A> {
  readonly on: (event: A) => void
  /** Set for a stream's listener: completes the stream. */
  readonly end: (() => void) | undefined
}

// Shared by every hub without listeners: most sockets never get one.
const none: ReadonlyArray<never> = []

export class EventHub<A> {
  private entries: ReadonlyArray<Entry<A>> = none
  private ended = false

  /** @param report receives what a throwing listener threw. */
  constructor(private readonly report: (error: unknown) => void) {}

  /** True when anybody listens (lets callers skip building an event). */
  get active(): boolean {
    return this.entries.length > 0
  }

  /** Adds a synchronous listener; returns the function that removes it. */
  listen(listener: (event: A) => void): () => void {
    return this.add({ on: listener, end: undefined })
  }

  private add(entry: Entry<A>): () => void {
    this.entries = [...this.entries, entry]
    return () => {
      this.entries = this.entries.filter((e) => e !== entry)
    }
  }

  emit(event: A): void {
    // Copy-on-write list: a listener that removes itself does not disturb this loop.
    const entries = this.entries
    for (let i = 0; i < entries.length; i++) {
      try {
        entries[i]!.on(event)
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
    this.entries = entries.filter((e) => e.end === undefined)
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
          }
        })
        return Effect.addFinalizer(() => Effect.sync(remove))
      },
      { bufferSize, strategy: "sliding" }
    )
  }
}
