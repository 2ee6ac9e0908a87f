/**
 * The master's debugger flags (spec framework.md §2.4): `--inspect-workers[=port]` and
 * `--inspect-brokers[=port]` (and v14's `--debug-workers`/`--debug-brokers`, which map to
 * `--inspect` because Node no longer has `--debug`). The worker cluster gets
 * `--inspect=<port>` (Node's cluster gives each worker the next port); broker `i` gets
 * `port + i`. The master's own `--inspect*`/`--debug*` flags are never inherited.
 */

const ownFlag = /^--(debug|inspect)(-brk)?(=.*)?$/

/** A child's `execArgv`: the master's without its own debugger flags, plus `--inspect=<port>` when asked. */
export const childExecArgv = (execArgv: ReadonlyArray<string>, port: number | undefined): Array<string> => [
  ...execArgv.filter((arg) => !ownFlag.test(arg)),
  ...(port === undefined ? [] : [`--inspect=${port}`])
]

/**
 * The inspector port asked for `workers` or `brokers` in `argv` (`--inspect-workers` alone
 * → `defaultPort`), or `undefined` when not asked.
 */
export const inspectPort = (
  argv: ReadonlyArray<string>,
  kind: "workers" | "brokers",
  defaultPort: number
): number | undefined => {
  const flag = new RegExp(`^--(?:inspect|debug)-${kind}(?:=(\\d+))?$`)
  for (const arg of argv) {
    const match = flag.exec(arg)
    if (match !== null) return match[1] === undefined ? defaultPort : Number(match[1])
  }
  return undefined
}
