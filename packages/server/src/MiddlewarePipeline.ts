/**
 * Runs middleware chains. One list per type, run in series in insertion order; the first
 * failure stops the chain and becomes a `MiddlewareBlocked` value: the error the client
 * sees, whether it was silent, and the extra value v14 collected (close code, bad token).
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { isFinished } from "./Finished.js"
import {
  blockedBy,
  type Middleware,
  MiddlewareBlocked,
  type MiddlewareRequests,
  type MiddlewareType,
  MiddlewareTypes,
  run as runMiddleware,
  toBlocked
} from "./Middleware.js"
import * as Tracing from "./Tracing.js"

// Copy-on-write: `add` and `remove` replace a list, so a running chain keeps the list it
// started with (what was added or removed meanwhile affects the next action only) and
// no action copies it.
type Lists = { [K in MiddlewareType]: ReadonlyArray<Middleware<K>> }

const spanAttributes = (type: MiddlewareType, req: MiddlewareRequests[MiddlewareType]): Tracing.SpanAttributes => ({
  "sc.middleware": type,
  "sc.socket.id": "socket" in req ? req.socket.id : undefined,
  "sc.channel": "channel" in req ? req.channel : undefined,
  "sc.event": "event" in req ? req.event : undefined
})

/**
 * The mutable set of middleware chains of one server.
 */
export class MiddlewarePipeline {
  private readonly lists: Lists = {
    handshakeWS: [],
    handshakeSC: [],
    authenticate: [],
    subscribe: [],
    publishIn: [],
    publishOut: [],
    emit: []
  }

  /**
   * @param onDefect called with a middleware's defect (a bug in it); the client then sees a
   * generic `UnknownError` and never the defect's text.
   */
  constructor(
    private readonly onDefect: (type: MiddlewareType, cause: Cause.Cause<never>) => void,
    /** Reports a block that is not silent (the server's `warning`, when `middlewareEmitWarnings`). */
    private readonly onBlocked: (blocked: MiddlewareBlocked) => void,
    /** Make a span per chain run (a tracer is installed). */
    private readonly tracing = false
  ) {}

  /** True when at least one middleware of `type` is installed (lets hot paths skip the chain). */
  has(type: MiddlewareType): boolean {
    return this.lists[type].length > 0
  }

  add<T extends MiddlewareType>(type: T, middleware: Middleware<T>): void {
    this.set(type, [...this.list(type), middleware])
  }

  /** Removes every occurrence of `middleware` (by identity). */
  remove<T extends MiddlewareType>(type: T, middleware: Middleware<T>): void {
    this.set(
      type,
      this.list(type).filter((m) => m !== middleware)
    )
  }

  private list<T extends MiddlewareType>(type: T): ReadonlyArray<Middleware<T>> {
    return this.lists[type] as ReadonlyArray<Middleware<T>>
  }

  private set<T extends MiddlewareType>(type: T, list: ReadonlyArray<Middleware<T>>): void {
    ;(this.lists as Record<MiddlewareType, ReadonlyArray<Middleware<T>>>)[type] = list
  }

  /** Runs the chain of `type`; fails with `MiddlewareBlocked` at the first rejection. */
  run<T extends MiddlewareType>(type: T, req: MiddlewareRequests[T]): Effect.Effect<void, MiddlewareBlocked> {
    const run = Effect.suspend(() => this.runNow(type, req))
    return this.tracing ? Tracing.span(true, `sc.middleware.${type}`, () => spanAttributes(type, req), run) : run
  }

  /**
   * Runs the chain of `type` now, as far as it is synchronous: a middleware that answers
   * with a finished result (an `Exit`, which `Effect.void` and `Effect.fail(e)` are) is
   * settled on the spot, so a chain of such middleware comes back as an `Exit` that
   * `gate` acts on without a fiber. From the first middleware that answers with any other
   * effect, the rest of the chain runs when the returned effect runs.
   */
  private runNow<T extends MiddlewareType>(
    type: T,
    req: MiddlewareRequests[T]
  ): Effect.Effect<void, MiddlewareBlocked> {
    const list = this.list(type)
    if (list.length === 0) return Effect.void
    return this.runFrom(type, list, 0, req)
  }

  private runFrom<T extends MiddlewareType>(
    type: T,
    chain: ReadonlyArray<Middleware<T>>,
    from: number,
    req: MiddlewareRequests[T]
  ): Effect.Effect<void, MiddlewareBlocked> {
    for (let i = from; i < chain.length; i++) {
      let result: Effect.Effect<void, unknown>
      try {
        result = chain[i]!(req)
      } catch (defect) {
        result = Exit.die(defect)
      }
      if (!isFinished(result)) {
        const pending = result
        return Effect.flatMap(
          runMiddleware(type, () => pending, req, this.reportDefect),
          () => this.runFrom(type, chain, i + 1, req)
        )
      }
      if (Exit.isFailure(result)) return blockedBy(type, result.cause, this.reportDefect)
    }
    return Effect.void
  }

  /**
   * Runs the chain of `type` and applies its outcome, the one way every action does:
   * passed, `onPass` runs (and the Effect it returns, if any); blocked, the block is
   * reported (unless silent) and `onBlocked` gets it. Interruption skips both.
   */
  gate<T extends MiddlewareType>(
    type: T,
    req: MiddlewareRequests[T],
    onPass: () => Effect.Effect<void> | undefined | void,
    onBlocked: (blocked: MiddlewareBlocked) => void
  ): Effect.Effect<void> {
    return this.settle(this.check(type, req), onPass, onBlocked)
  }

  /**
   * The chain's outcome as far as it is synchronous (see `runNow`; traced when tracing).
   * A hot path acts on a finished success itself, with no closures made, and hands
   * anything else to `settle`.
   */
  check<T extends MiddlewareType>(type: T, req: MiddlewareRequests[T]): Effect.Effect<void, MiddlewareBlocked> {
    return this.tracing ? this.run(type, req) : this.runNow(type, req)
  }

  /** Applies an outcome from `check` as `gate` does. */
  settle(
    checked: Effect.Effect<void, MiddlewareBlocked>,
    onPass: () => Effect.Effect<void> | undefined | void,
    onBlocked: (blocked: MiddlewareBlocked) => void
  ): Effect.Effect<void> {
    if (isFinished(checked)) {
      // Settled synchronously: act now, so the action needs no fiber.
      if (Exit.isSuccess(checked)) return onPass() ?? Effect.void
      const failure = Cause.findErrorOption(checked.cause)
      if (failure._tag === "Some") {
        this.blocked(failure.value, onBlocked)
        return Effect.void
      }
    }
    return Effect.matchEffect(checked, {
      onFailure: (blocked) => {
        this.blocked(blocked, onBlocked)
        return Effect.void
      },
      onSuccess: () => onPass() ?? Effect.void
    })
  }

  private blocked(blocked: MiddlewareBlocked, onBlocked: (blocked: MiddlewareBlocked) => void): void {
    if (!blocked.silent) this.onBlocked(blocked)
    onBlocked(blocked)
  }

  private readonly reportDefect = (type: MiddlewareType, cause: Cause.Cause<unknown>): void =>
    this.onDefect(type, cause as Cause.Cause<never>)
}

export { MiddlewareBlocked, MiddlewareTypes, toBlocked }
