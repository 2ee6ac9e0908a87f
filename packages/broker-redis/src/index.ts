/**
 * `@effect-socketcluster/broker-redis`: the Redis pub/sub broker layer for
 * effect-socketcluster servers running as several processes or on several hosts.
 */
export * as BrokerRedis from "./BrokerRedis.js"
export * as BrokerRedisCluster from "./BrokerRedisCluster.js"
export * as DataStoreRedis from "./DataStoreRedis.js"
