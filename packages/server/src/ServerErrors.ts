/**
 * What building or configuring a server may fail with.
 */
import * as Data from "effect/Data"

/** The HTTP server could not listen (port in use, permission...), or cannot be shared. */
export class ServerStartError extends Data.TaggedError("ServerStartError")<{
  readonly cause: Error
}> {}

/** A second handler was registered for an event that has one (`register`, `Procedures.layer`). */
export class DuplicateHandlerError extends Data.TaggedError("DuplicateHandlerError")<{
  readonly event: string
  readonly message: string
}> {
  static of(event: string): DuplicateHandlerError {
    return new DuplicateHandlerError({ event, message: `The event '${event}' already has a handler` })
  }
}
