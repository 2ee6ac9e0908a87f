/**
 * `exchange.exec(queryFn[, data])` — v14's user JavaScript executed on a broker (spec
 * framework.md §6.5). The function's source text crosses the wire and runs there with
 * the broker process's full privileges: nothing is sandboxed. Never build a query's
 * source from client input; pass client values in `data` (names are validated, values
 * are JSON-escaped).
 */
import { BrokerError } from "@effect-socketcluster/protocol"

const variableName = /^[a-zA-Z_$][a-zA-Z0-9_$]*$/
const plainFunction = /^function\s*\(/

/**
 * The source to send for `query` with `data` injected as `var` declarations (only into a
 * `function (…) {` source, as v14). Throws `BrokerError` for an invalid variable name.
 */
export const querySource = (query: unknown, data: unknown): string => {
  let source = String(query)
  if (data === null || typeof data !== "object") return source
  const declarations: Array<string> = []
  for (const key of Object.keys(data)) {
    if (!variableName.test(key)) throw new BrokerError({ message: `The variable name '${key}' is invalid` })
    declarations.push(`var ${key}=${JSON.stringify(Reflect.get(data, key)) ?? "undefined"};`)
  }
  if (declarations.length > 0 && plainFunction.test(source)) {
    const brace = source.indexOf("{")
    if (brace >= 0) source = `${source.slice(0, brace + 1)}${declarations.join("")}${source.slice(brace + 1)}`
  }
  return source
}

/** Runs a query's source against the broker's state (strict mode), as v14's `exec`. */
export const runQuery = (source: string, dataMap: unknown, dataExpirer: unknown, subscriptions: unknown): unknown => {
  const run = new Function(
    "dataMap",
    "dataExpirer",
    "subscriptions",
    `"use strict"; return (${source})(dataMap, dataExpirer, subscriptions);`
  ) as (a: unknown, b: unknown, c: unknown) => unknown
  return run(dataMap, dataExpirer, subscriptions)
}

/** v14's prefix on query exceptions. */
export const prefixQueryError = (error: unknown): unknown => {
  const prefix = "Exception at exec(): "
  if (typeof error === "string") return prefix + error
  if (error instanceof Error) {
    const out = new Error(prefix + error.message)
    for (const key of Object.keys(error)) Reflect.set(out, key, Reflect.get(error, key))
    return out
  }
  return error
}
