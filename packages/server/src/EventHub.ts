/**
 * Synchronous listeners plus a Stream view of the same events.
 *
 * Listeners run synchronously at the moment an event happens, which is what v14's
 * ordering guarantees need (a `connection` listener runs before the handshake answer is
 * written). Streams are for Effect code: each stream run gets its own bounded buffer and
 * the server never waits for it; a consumer that falls `bufferSize` events behind loses
 * the oldest ones (sliding), so a slow consumer cannot block the server or grow its memory.
 */
import { Effect, Queue, Stream } from "effect"

// Shared by every hub without listeners: most sockets never get one.
const none: ReadonlyArray<never> = []

export class EventHub<A> {
  private listeners: ReadonlyArray<(event: A) => void> = none

  constructor(private readonly bufferSize = 4096) {}

  /** True when anybody listens (lets callers skip building an event). */
  get active(): boolean {
    return this.listeners.length > 0
  }

  /** Adds a synchronous listener; returns the function that removes it. */
  listen(listener: (event: A) => void): () => void {
    this.listeners = [...this.listeners, listener]
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener)
    }
  }

  emit(event: A): void {
    // Copy-on-write list: a listener that removes itself does not disturb this loop.
    for (const listener of this.listeners) listener(event)
  }

  /** The events as a stream, from the moment the stream starts. */
  get stream(): Stream.Stream<A> {
    return Stream.callback<A>(
      (queue) => {
        const remove = this.listen((event) => {
          Queue.offerUnsafe(queue, event)
        })
        return Effect.addFinalizer(() => Effect.sync(remove))
      },
      { bufferSize: this.bufferSize, strategy: "sliding" }
    )
  }
}
