/** The README's runnable example does what the README says. */
import { assert, it } from "@effect/vitest"
import { Effect } from "effect"
import { main } from "../examples/quickstart.js"

it.live("examples/quickstart.ts: echo and one publication", () =>
  Effect.gen(function* () {
    assert.deepStrictEqual(yield* main, { echoed: { hello: "world" }, headline: "first!" })
  })
)
