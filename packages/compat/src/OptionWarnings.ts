/**
 * v14 options that the Effect-native server refuses and the facade keeps (v14 apps depend
 * on them): each kind is reported once per process, as Node reports a deprecation, with
 * a `warning` event of the first server that uses it.
 */
import { InvalidOptionsError } from "@effect-socketcluster/protocol"

const reported = new Set<string>()

const checks: ReadonlyArray<readonly [string, (options: Readonly<Record<string, unknown>>) => string | undefined]> = [
  [
    "weakAuthKey",
    ({ authKey }) =>
      typeof authKey === "string" && Buffer.byteLength(authKey) < 32
        ? "The authKey option is shorter than 32 bytes (256 bits): tokens signed with it can be forged by brute force - Use a longer key"
        : undefined
  ],
  [
    "pingIntervalOverTimeout",
    ({ pingInterval, pingTimeout, pingTimeoutDisabled }) =>
      pingTimeoutDisabled !== true &&
      typeof pingInterval === "number" &&
      typeof pingTimeout === "number" &&
      pingInterval >= pingTimeout
        ? `The pingInterval option (${pingInterval}) is not smaller than pingTimeout (${pingTimeout}): every client will time out with 4001`
        : undefined
  ]
]

/** The warnings `options` (merged with v14's defaults) call for that this process has not given yet. */
export const unreported = (options: Readonly<Record<string, unknown>>): ReadonlyArray<InvalidOptionsError> => {
  const out: Array<InvalidOptionsError> = []
  for (const [kind, check] of checks) {
    if (reported.has(kind)) continue
    const message = check(options)
    if (message === undefined) continue
    reported.add(kind)
    out.push(new InvalidOptionsError({ message }))
  }
  return out
}
