/**
 * The targets measured side by side. `prepare` runs once per invocation and says how to
 * start a fresh process for each run, or why the target cannot run now.
 */
import { fileURLToPath } from "node:url"
import type { Launch } from "../target-process.js"
import { prepareEffectSocketcluster, type Unavailable } from "./effect-socketcluster.js"

export type { Unavailable } from "./effect-socketcluster.js"

export interface Target {
  /** Short id used on the command line and in JSON. */
  readonly id: string
  readonly label: string
  readonly prepare: () => Launch | Unavailable
  /** Run only when named with `--targets` (variants kept for comparison). */
  readonly optional?: boolean
  /** Cannot serve protocol v2 clients (skipped with `--protocol 2`). */
  readonly protocolV1Only?: boolean
}

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url))

const withEnv = (launch: Launch | Unavailable, env: Readonly<Record<string, string>>): Launch | Unavailable =>
  isUnavailable(launch) ? launch : { ...launch, env: { ...launch.env, ...env } }

/** Our server first; the references after it. */
export const targets: ReadonlyArray<Target> = [
  { id: "effect-sc", label: "effect-socketcluster", prepare: prepareEffectSocketcluster },
  {
    // The same server serving v1 only: the A/B of per-connection protocol detection (issue 16).
    id: "effect-sc-v1",
    label: "effect-socketcluster, protocolVersion: 1",
    prepare: () => withEnv(prepareEffectSocketcluster(), { PROTOCOL_VERSION: "1" }),
    optional: true
  },
  {
    id: "sc-server",
    label: "socketcluster-server 14.7.2",
    prepare: () => ({ args: [here("./socketcluster-server.js")] }),
    protocolV1Only: true
  },
  { id: "bare-ws", label: "bare ws", prepare: () => ({ args: [here("./bare-ws.ts")] }) },
  {
    id: "bare-ws-coalesced",
    label: "bare ws, coalesced writes",
    prepare: () => ({ args: [here("./bare-ws.ts")], env: { BARE_WS_COALESCE: "immediate" } })
  },
  {
    id: "bare-ws-coalesced-tick",
    label: "bare ws, uncorked per tick",
    prepare: () => ({ args: [here("./bare-ws.ts")], env: { BARE_WS_COALESCE: "tick" } }),
    optional: true
  }
]

export const isUnavailable = (value: Launch | Unavailable): value is Unavailable => "unavailable" in value
