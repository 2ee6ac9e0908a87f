/**
 * The targets measured side by side. `prepare` runs once per invocation and says how to
 * start a fresh process for each run, or why the target cannot run now.
 */
import { fileURLToPath } from "node:url"
import type { Protocol } from "../loadgen/sc-client.js"
import type { Launch } from "../target-process.js"
import { prepareCli, prepareCliBase } from "./cli.js"
import { prepareEffectSocketcluster, prepareEffectSocketclusterBase } from "./effect-socketcluster.js"
import type { Unavailable } from "./unavailable.js"

export type { Unavailable } from "./unavailable.js"

export interface Target {
  /** Short id used on the command line and in JSON. */
  readonly id: string
  readonly label: string
  /** How to start the target for load clients speaking `protocol`. */
  readonly prepare: (protocol: Protocol) => Launch | Unavailable
  /** Run only when named with `--targets` (variants kept for comparison). */
  readonly optional?: boolean
  /** Cannot serve protocol v2 clients (skipped with `--protocol 2`). */
  readonly protocolV1Only?: boolean
}

/** The target the report judges: the CLI, as users run it. */
export const ours = "cli"
/** The library example, which the CLI must stay within 10 % of. */
export const library = "effect-sc"

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url))

const withEnv = (launch: Launch | Unavailable, env: Readonly<Record<string, string>>): Launch | Unavailable =>
  isUnavailable(launch) ? launch : { ...launch, env: { ...launch.env, ...env } }

/** Ours first; the references after them. */
export const targets: ReadonlyArray<Target> = [
  { id: ours, label: "CLI (dist/bin.js)", prepare: prepareCli },
  { id: library, label: "library example", prepare: prepareEffectSocketcluster },
  // The CLI of another version (BENCH_BASE_TREE): before/after of the CLI in one run.
  { id: "cli-base", label: "CLI, base tree", prepare: prepareCliBase, optional: true },
  {
    // Another version of the same server (BENCH_BASE_TREE): before/after comparisons in one run.
    id: "effect-sc-base",
    label: "effect-socketcluster, base tree",
    prepare: prepareEffectSocketclusterBase,
    optional: true
  },
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
  {
    id: "sc-server-20",
    // v1 for v14 load clients, its default v2 for clients 15–20.
    label: "socketcluster-server 20.0.1",
    prepare: (protocol) => ({
      args: [here("./socketcluster-server-20.js")],
      env: { SC_PROTOCOL_VERSION: String(protocol) }
    })
  },
  { id: "bare-ws", label: "bare ws", prepare: () => ({ args: [here("./bare-ws.ts")] }), optional: true },
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
