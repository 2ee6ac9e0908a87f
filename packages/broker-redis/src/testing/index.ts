export { type RedisServer, spawnRedisServer, useRedisServer } from "./RedisServer.js"
