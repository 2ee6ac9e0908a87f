/**
 * What an error becomes on the wire. `dehydrate` (sc-errors) copies an error's own
 * enumerable fields; an error built by a library may carry an enumerable `stack` or a
 * `cause` (a Node system error, with its `path`). Neither is ever sent: server internals
 * stay on the server.
 *
 * A tagged error of the app's own (`Data.TaggedError("Forbidden")`, a `Schema.TaggedErrorClass`)
 * goes as a SocketCluster error named by its tag: `name` = `_tag`, with its fields, and
 * no `_tag` (clients know errors by `name`). `ApplicationError` names itself.
 */
import { ApplicationError, dehydrate, isSCError } from "@effect-socketcluster/protocol"

const neverSent = ["stack", "cause"] as const

/**
 * The dehydrated form of `error` without `stack` and `cause`.
 *
 * @example
 * ```ts
 * const e = Object.assign(new Error("nope"), { code: 7, cause: new Error("at /srv/app.ts") })
 * toWireError(e) // { message: "nope", code: 7 }
 * class Forbidden extends Data.TaggedError("Forbidden")<{ readonly message: string; readonly role: string }> {}
 * toWireError(new Forbidden({ message: "admins only", role: "guest" })) // { name: "Forbidden", message: "admins only", role: "guest" }
 * ```
 */
export const toWireError = (error: unknown): unknown => {
  const wire = dehydrate(error)
  if (typeof wire === "object" && wire !== null) {
    for (const key of neverSent) if (Object.hasOwn(wire, key)) Reflect.deleteProperty(wire, key)
    const tag = appTag(error)
    if (tag !== undefined) {
      Reflect.deleteProperty(wire, "_tag")
      // `name` first, as v14 errors have it; the tag wins over a field called `name`.
      return Object.assign({ name: tag }, wire, { name: tag })
    }
  }
  return wire
}

// The `_tag` of a tagged error that is neither a SocketCluster catalogue error nor an ApplicationError.
const appTag = (error: unknown): string | undefined => {
  if (typeof error !== "object" || error === null || error instanceof ApplicationError || isSCError(error)) {
    return undefined
  }
  const tag: unknown = Reflect.get(error, "_tag")
  return typeof tag === "string" ? tag : undefined
}
