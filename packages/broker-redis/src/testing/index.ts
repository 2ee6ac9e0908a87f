export { type RedisCluster, spawnRedisCluster } from "./RedisCluster.js"
export { freePort, launchRedisServer, type RedisServer, spawnRedisServer, useRedisServer } from "./RedisServer.js"
