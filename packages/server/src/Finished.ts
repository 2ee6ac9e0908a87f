/**
 * Finished effects. In Effect 4 an `Exit` is itself an effect, and `Effect.succeed`,
 * `Effect.fail` and `Effect.void` return one, so a handler or middleware that answers at
 * once hands back a value that can be read without running it. Hot paths use this to
 * finish such work on the spot instead of forking a fiber for it.
 */
import { type Effect, Exit } from "effect"

/** True when `effect` is already finished: an `Exit`, with the effect's own types. */
export const isFinished = <A, E>(effect: Effect.Effect<A, E>): effect is Exit.Exit<A, E> => Exit.isExit(effect)
