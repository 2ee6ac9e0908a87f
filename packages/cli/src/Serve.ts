/**
 * Runs one server process until interrupted: the logger, the broker and the app, wired
 * from the settings.
 */
import * as Effect from "effect/Effect"
import * as App from "./App.js"
import * as BrokerChoice from "./BrokerChoice.js"
import type { Settings } from "./Config.js"
import * as Logging from "./Logging.js"
import * as Telemetry from "./Telemetry.js"
import * as Workers from "./Workers.js"

/** Serves until the fiber is interrupted, then drains (see `App.make`). */
export const serve = (settings: Settings): Effect.Effect<never, App.StartError> => {
  const worker = Workers.workerNumber()
  return App.make(settings, { worker }).pipe(
    Effect.andThen(Effect.never),
    Effect.scoped,
    worker === undefined ? (effect) => effect : Effect.annotateLogs({ worker }),
    Effect.provide(BrokerChoice.layer(settings.brokerUrl, settings.brokerPrefix)),
    Effect.provide(Telemetry.layer(settings.otlpEndpoint)),
    Effect.provide(Logging.layer(settings.logFormat, settings.logLevel))
  )
}
