export { type RedisCluster, spawnRedisCluster } from "./RedisCluster.js"
export { type RedisServer, spawnRedisServer, useRedisServer } from "./RedisServer.js"
