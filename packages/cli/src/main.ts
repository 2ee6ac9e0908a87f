#!/usr/bin/env node
/**
 * The `effect-socketcluster` program (`./dev start`, `pnpm start`; `--help` lists the
 * options). Reads the settings from flags and the environment, then serves until
 * SIGINT/SIGTERM, drains and exits 0. A bad setting or a failed start prints one line and
 * exits 1.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { helpText, settingsFrom } from "./Config.js"
import * as Logging from "./Logging.js"
import { serve } from "./Serve.js"
import * as Workers from "./Workers.js"

const program = Effect.gen(function* () {
  const { settings } = yield* settingsFrom(process.argv.slice(2), process.env)
  if (settings === undefined) return yield* Console.log(helpText())
  if (settings.workers > 1 && !Workers.isWorker()) {
    return yield* Workers.runPrimary(settings).pipe(
      Effect.annotateLogs({ role: "primary" }),
      Effect.provide(Logging.layer(settings.logFormat, settings.logLevel))
    )
  }
  return yield* serve(settings)
}).pipe(Effect.tapError((error) => Console.error(error.message)))

NodeRuntime.runMain(program, {
  disableErrorReporting: true,
  teardown: (exit, onExit) => onExit(Exit.isSuccess(exit) || Exit.hasInterrupts(exit) ? 0 : 1)
})
