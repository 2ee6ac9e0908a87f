/** The README's runnable example does what the README says. */
import { assert, it } from "@effect/vitest"
import { Effect } from "effect"
import { main } from "../examples/quickstart.js"
import { main as typedAndRecovery } from "../examples/typed-and-recovery.js"

it.live("examples/quickstart.ts: echo and one publication", () =>
  Effect.gen(function* () {
    assert.deepStrictEqual(yield* main, { echoed: { hello: "world" }, headline: "first!" })
  })
)

it.live("examples/typed-and-recovery.ts: a typed call, its declared error, a publication recovered", () =>
  Effect.gen(function* () {
    assert.deepStrictEqual(yield* typedAndRecovery, {
      sum: 3,
      refused: "Forbidden: guest",
      chat: ["hello", "while you were away"]
    })
  })
)
