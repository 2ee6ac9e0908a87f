/**
 * The master's options (spec framework.md §2.2): defaults, generated values and checks.
 */
import { randomBytes, randomUUID } from "node:crypto"
import { InvalidOptionsError } from "@effect-socketcluster/protocol"

export type Options = Record<string, unknown>

/** The 14.4.2 defaults. */
export const defaults = (): Options => ({
  workers: null,
  brokers: null,
  port: 8000,
  host: null,
  tcpSynBacklog: null,
  protocol: "http",
  protocolOptions: null,
  path: "/socketcluster/",
  wsEngine: "ws",
  appName: null,
  instanceId: null,
  secretKey: null,
  authKey: null,
  authPrivateKey: null,
  authPublicKey: null,
  authAlgorithm: null,
  authVerifyAlgorithms: null,
  authDefaultExpiry: 86400,
  authSignAsync: false,
  authVerifyAsync: true,
  handshakeTimeout: 10000,
  ackTimeout: 10000,
  ipcAckTimeout: 10000,
  pingInterval: 8000,
  pingTimeout: 20000,
  pingTimeoutDisabled: false,
  origins: "*:*",
  socketChannelLimit: 1000,
  allowClientPublish: true,
  middlewareEmitWarnings: true,
  pubSubBatchDuration: null,
  crashWorkerOnError: true,
  rebootWorkerOnCrash: true,
  killWorkerMemoryThreshold: null,
  workerStatusInterval: 10000,
  processTermTimeout: 10000,
  forceKillTimeout: 15000,
  forceKillSignal: "SIGHUP",
  propagateErrors: true,
  propagateWarnings: true,
  logLevel: 2,
  environment: "dev",
  rebootOnSignal: true,
  killMasterOnSignal: false,
  downgradeToUser: false,
  socketRoot: null,
  schedulingPolicy: null,
  brokerConnectRetryErrorThreshold: null,
  defaultWorkerDebugPort: 5858,
  defaultBrokerDebugPort: 6858,
  workerController: null,
  brokerController: null,
  workerClusterController: null,
  brokerEngine: "sc-broker-cluster"
})

/** Defaults, then `options`, then the generated values (synchronous, as v14's constructor). */
export const merge = (options: Options): Options => {
  const merged = Object.assign(defaults(), options)
  if (merged.appName == null) merged.appName = randomUUID()
  if (merged.instanceId == null) merged.instanceId = randomUUID()
  if (merged.secretKey == null) merged.secretKey = randomBytes(32).toString("hex")
  if (merged.authKey == null && merged.authPrivateKey == null && merged.authPublicKey == null) {
    merged.authKey = randomBytes(32).toString("hex")
  }
  for (const key of ["authPrivateKey", "authPublicKey"]) {
    const value = merged[key]
    if (Buffer.isBuffer(value)) merged[key] = value.toString()
  }
  return merged
}

const limited = [
  "ackTimeout",
  "ipcAckTimeout",
  "pingInterval",
  "pingTimeout",
  "workerStatusInterval",
  "processTermTimeout",
  "forceKillTimeout"
]

/** v14's checks (they surface as a `fail` event, not a throw). Normalises `workers`/`brokers`. */
export const validate = (options: Options): void => {
  if (options.workerController == null) {
    throw new InvalidOptionsError({
      message:
        "Compulsory option 'workerController' was not specified - It needs to be a path to a JavaScript file which will act as the boot controller for each worker in the cluster"
    })
  }
  // Failing closed: an app that asked to drop root privileges must not run as root unnoticed.
  if (options.downgradeToUser !== false && options.downgradeToUser != null) {
    throw new InvalidOptionsError({
      message:
        "The downgradeToUser option is not supported: start the master as that user instead (to listen on a port below 1024, grant it CAP_NET_BIND_SERVICE or put a proxy in front)"
    })
  }
  for (const key of ["workers", "brokers"]) {
    const value = options[key]
    if (!value || (typeof value === "number" && value < 1)) options[key] = 1
    else if (typeof value !== "number") throw new InvalidOptionsError({ message: `The ${key} option must be a number` })
  }
  for (const key of limited) {
    const value = options[key]
    if (typeof value === "number" && value > 2 ** 31 - 1) {
      throw new InvalidOptionsError({ message: `The ${key} value provided exceeded the maximum amount allowed` })
    }
  }
}
