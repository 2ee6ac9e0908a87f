/**
 * `@effect-socketcluster/server`: the SocketCluster v14 server on Effect 4.
 */
export * as AuthEngine from "./AuthEngine.js"
export * as Broker from "./Broker.js"
export * as BrokerMemory from "./BrokerMemory.js"
export * as DataCommand from "./DataCommand.js"
export * as DataStore from "./DataStore.js"
export * as DataStoreMemory from "./DataStoreMemory.js"
export * as Events from "./Events.js"
export * as Exchange from "./Exchange.js"
export * as Expiries from "./Expiries.js"
export * as KeyChainMap from "./KeyChainMap.js"
export * as Middleware from "./Middleware.js"
export * as Options from "./Options.js"
export * as RateLimit from "./RateLimit.js"
export * as SCServer from "./SCServer.js"
export * as SCSocket from "./SCSocket.js"
export * as WireDialect from "./WireDialect.js"
