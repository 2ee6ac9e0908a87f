/**
 * Bridges an Effect `Schedule` to node-redis's synchronous `reconnectStrategy` hook, so
 * the delays between reconnection attempts come from the schedule (backoff, jitter,
 * limits) while node-redis keeps its own reconnect loop and resubscription.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schedule from "effect/Schedule"

/** node-redis's hook: milliseconds until the next attempt, or an Error to give up for good. */
export type ReconnectStrategy = (retries: number, cause: Error) => number | Error

/**
 * A strategy stepping `schedule` once per failed attempt. node-redis restarts the count
 * at 0 for each outage; so does the schedule (a fresh backoff for every outage). When
 * the schedule ends, the client stops reconnecting.
 */
export const fromSchedule = (schedule: Schedule.Schedule<unknown, Error>): ReconnectStrategy => {
  let step: Effect.Success<ReturnType<typeof Schedule.toStep<unknown, Error, never, never>>> | undefined
  return (retries, cause) => {
    if (retries === 0 || step === undefined) step = Effect.runSync(Schedule.toStep(schedule))
    const exit = Effect.runSyncExit(step(Date.now(), cause))
    return Exit.isSuccess(exit)
      ? Math.max(0, Math.round(Duration.toMillis(exit.value[1])))
      : new Error("Redis reconnect schedule ended", { cause })
  }
}
