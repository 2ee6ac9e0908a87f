/**
 * A value with synchronous updates and a Stream of its changes (current value first).
 * The client updates state from inside frame handling, which is synchronous.
 */
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"

export class Observable<A> {
  private readonly watchers = new Set<Queue.Queue<A>>()

  constructor(private current: A) {}

  get value(): A {
    return this.current
  }

  set(value: A): void {
    this.current = value
    for (const queue of this.watchers) Queue.offerUnsafe(queue, value)
  }

  /** The current value, then every later one, until the stream is stopped. */
  readonly changes: Stream.Stream<A> = Stream.unwrap(
    Effect.acquireRelease(
      Effect.map(Queue.unbounded<A>(), (queue) => {
        Queue.offerUnsafe(queue, this.current)
        this.watchers.add(queue)
        return queue
      }),
      (queue) => Effect.sync(() => this.watchers.delete(queue))
    ).pipe(Effect.map((queue) => Stream.fromQueue(queue)))
  )
}
