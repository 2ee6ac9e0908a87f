/**
 * `--workers N`: N server processes sharing one port through `node:cluster`, each the
 * same server with the Redis broker so that pub/sub spans them all.
 *
 * The primary serves nothing itself. A worker that dies (non-zero exit or a signal) is
 * logged and restarted (after a second when it died within its first second, so a
 * crash loop does not spin). SIGTERM/SIGINT to the primary drains every worker (each
 * runs its own drain, see `App.make`) and exits 0 once they are gone. With the memory
 * broker more than one worker is refused: publications would silently stay in the
 * process they were made in.
 */
import cluster, { type Worker } from "node:cluster"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Redacted from "effect/Redacted"
import { type InvalidSetting, invalidSetting, type Settings } from "./Config.js"

/** `true` in a worker process started by {@link runPrimary}. */
export const isWorker = (): boolean => cluster.isWorker

/** The worker's number (1..N) in a worker process, else `undefined`. */
export const workerNumber = (): string | undefined => (cluster.isWorker ? process.env.SC_WORKER : undefined)

/** Refuses more than one worker without a shared broker. */
export const checkBroker = (settings: Settings): Effect.Effect<void, InvalidSetting> =>
  settings.workers > 1 && settings.brokerUrl === undefined
    ? Effect.fail(
        invalidSetting(
          "workers",
          `${settings.workers} workers need a Redis broker (--broker redis://...); with the memory broker each process would only see its own publications`
        )
      )
    : Effect.void

// Time a worker has to drain and close before the primary kills it.
const stopGrace = Duration.seconds(10)
// A worker that dies sooner than this after starting is restarted after this delay.
const crashLoopDelay = Duration.seconds(1)

/**
 * Runs the primary: starts `settings.workers` workers and keeps them running until
 * interrupted, then stops them all.
 */
export const runPrimary = (settings: Settings): Effect.Effect<never, InvalidSetting> =>
  Effect.gen(function* () {
    yield* checkBroker(settings)
    // One key for every worker: a token issued by one must verify on the others.
    const sharedEnv: Record<string, string> =
      settings.auth._tag === "Secret" ? { AUTH_KEY: Redacted.value(settings.auth.key) } : {}
    if (settings.auth._tag === "Secret" && settings.auth.generated) {
      yield* Effect.logWarning("No --auth-key / AUTH_KEY: using a random key; auth tokens will not survive a restart")
    }
    const runFork = yield* FiberSet.makeRuntime<never>()
    const live = new Map<number, { readonly worker: Worker; readonly startedAt: number }>()
    const allGone = yield* Deferred.make<void>()
    let stopping = false

    const start = (n: number): void => {
      const worker = cluster.fork({ ...sharedEnv, SC_WORKER: String(n) })
      live.set(n, { worker, startedAt: Date.now() })
      worker.once("listening", (address) =>
        runFork(Effect.logInfo(`worker ${n} (pid ${worker.process.pid}) listening on port ${address.port}`))
      )
      worker.once("exit", (code, signal) => {
        const startedAt = live.get(n)?.startedAt ?? Date.now()
        live.delete(n)
        if (stopping || (code === 0 && signal === null)) {
          runFork(Effect.logInfo(`worker ${n} (pid ${worker.process.pid}) stopped`))
          if (live.size === 0) Deferred.doneUnsafe(allGone, Effect.void)
          return
        }
        const quick = Date.now() - startedAt < Duration.toMillis(crashLoopDelay)
        runFork(
          Effect.logError(
            `worker ${n} (pid ${worker.process.pid}) died (${signal ?? `exit code ${code}`}); restarting`
          ).pipe(
            Effect.andThen(quick ? Effect.sleep(crashLoopDelay) : Effect.void),
            Effect.andThen(Effect.sync(() => (stopping ? undefined : start(n))))
          )
        )
      })
    }

    yield* Effect.acquireRelease(
      Effect.sync(() => {
        for (let n = 1; n <= settings.workers; n++) start(n)
      }).pipe(Effect.andThen(Effect.logInfo(`primary (pid ${process.pid}) started ${settings.workers} workers`))),
      () =>
        Effect.gen(function* () {
          stopping = true
          yield* Effect.logInfo(`stopping ${live.size} workers`)
          if (live.size === 0) return
          for (const { worker } of live.values()) worker.process.kill("SIGTERM")
          const timeout = Duration.sum(Duration.millis(settings.drainPeriod), stopGrace)
          const done = yield* Deferred.await(allGone).pipe(Effect.timeoutOption(timeout))
          if (done._tag === "None") {
            yield* Effect.logWarning(`killing ${live.size} workers that did not stop in time`)
            for (const { worker } of live.values()) worker.process.kill("SIGKILL")
          }
        })
    )
    return yield* Effect.never
  }).pipe(Effect.scoped)
