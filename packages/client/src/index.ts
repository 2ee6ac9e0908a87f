/**
 * `@effect-socketcluster/client`: an Effect-native SocketCluster client for protocol v1
 * (socketcluster-server 14, this project's server) and v2 (socketcluster-server 15–20),
 * in Node and browsers.
 *
 * @since 0.1.0
 */
export * as AuthTokenStore from "./AuthTokenStore.js"
export * from "./ClientError.js"
export * as ClientOptions from "./ClientOptions.js"
export type { AuthState, ConnectionState } from "./ConnectionState.js"
export * as ProcedureCall from "./ProcedureCall.js"
export * as Recovery from "./Recovery.js"
export * as SCClient from "./SCClient.js"
export * as ServerPacket from "./ServerPacket.js"
