/**
 * What an error becomes on the wire. `dehydrate` (sc-errors) copies an error's own
 * enumerable fields; an error built by a library may carry an enumerable `stack` or a
 * `cause` (a Node system error, with its `path`). Neither is ever sent: server internals
 * stay on the server.
 */
import { dehydrate } from "@effect-socketcluster/protocol"

const neverSent = ["stack", "cause"] as const

/**
 * The dehydrated form of `error` without `stack` and `cause`.
 *
 * @example
 * ```ts
 * const e = Object.assign(new Error("nope"), { code: 7, cause: new Error("at /srv/app.ts") })
 * toWireError(e) // { message: "nope", code: 7 }
 * ```
 */
export const toWireError = (error: unknown): unknown => {
  const wire = dehydrate(error)
  if (typeof wire === "object" && wire !== null) {
    for (const key of neverSent) if (Object.hasOwn(wire, key)) Reflect.deleteProperty(wire, key)
  }
  return wire
}
