/**
 * Finished effects. In Effect 4 an `Exit` is itself an effect, and `Effect.succeed`,
 * `Effect.fail` and `Effect.void` return one, so a handler or middleware that answers at
 * once hands back a value that can be read without running it. Hot paths use this to
 * finish such work on the spot instead of forking a fiber for it.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"

// The shared `Effect.void` a passing middleware answers with: recognised by identity
// before the general check, the commonest case on the middleware paths.
const done: Effect.Effect<unknown, unknown> = Effect.void

/** True when `effect` is already finished: an `Exit`, with the effect's own types. */
export const isFinished = <A, E>(effect: Effect.Effect<A, E>): effect is Exit.Exit<A, E> =>
  effect === done || Exit.isExit(effect)
