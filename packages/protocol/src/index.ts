/**
 * `@effect-socketcluster/protocol`: the SocketCluster v14 wire protocol without I/O —
 * codec, packets (effect/Schema) and their classifier, the sc-errors catalogue and close
 * codes. Every module's exports are re-exported here by name.
 *
 * @since 0.1.0
 */

export * as Arbitraries from "./Arbitraries.js"
export * from "./Classify.js"
export * from "./CloseCodes.js"
export * from "./Codec.js"
export * from "./Errors.js"
export * from "./Packets.js"
export * as Procedure from "./Procedure.js"
