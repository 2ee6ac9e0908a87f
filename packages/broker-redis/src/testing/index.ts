export { type RedisCluster, spawnRedisCluster } from "./RedisCluster.js"
export { freePort, type RedisServer, spawnRedisServer, useRedisServer } from "./RedisServer.js"
