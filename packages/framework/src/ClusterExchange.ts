/**
 * The worker's exchange (`worker.exchange === scServer.exchange`): the compat exchange's
 * pub/sub and data methods, plus what only broker processes can do — `exec` (user
 * JavaScript on the brokers) and `send` (a message to the brokers' `message` listeners) —
 * and v14's broker mapping helpers (spec framework.md §4, §6.5, §6.7).
 */
import { type ExchangeHost, SCExchange } from "@effect-socketcluster/compat"
import { type BrokerClient, type Mapper, mappedIndexes } from "./BrokerClient.js"
import { querySource } from "./Exec.js"
import { hash } from "./Hash.js"

type Callback = (error: unknown, value?: unknown) => void

/** v14's default `mapIndex` routing of `send` and `exec` (§6.7): broker indexes, in order. */
export const targetsOf = (mapIndex: unknown, brokers: number): Array<number> => {
  if (mapIndex === null || mapIndex === undefined || mapIndex === "*")
    return Array.from({ length: brokers }, (_, i) => i)
  if (Array.isArray(mapIndex)) return mapIndex.map((key) => hash(key, brokers))
  if (!mapIndex) return [0]
  return [hash(mapIndex, brokers)]
}

/** v14's default mapper (§6.7): channels by name, `exec`/`send` by `mapIndex`, data by the chain's first key. */
export const defaultMapper: Mapper = (key, method, brokerIds) => {
  const brokers = brokerIds.length
  if (method === "removeAll") return brokerIds.map((_, i) => i)
  if (method === "exec" || method === "query" || method === "send")
    return targetsOf(Reflect.get(Object(key), "mapIndex"), brokers)
  if (key == null && (method === "publish" || method === "subscribe" || method === "unsubscribe"))
    return brokerIds.map((_, i) => i)
  return hash(key, brokers)
}

export class ClusterExchange extends SCExchange {
  constructor(
    host: ExchangeHost,
    private readonly client: BrokerClient,
    /** Pub/sub goes through the broker processes (else through Redis, and only `exec`/`send` use them). */
    private readonly pubSubOnBrokers = true
  ) {
    super(host)
    const count = client.connections.length
    this.dataTargets = { count, of: (keyChain) => client.dataIndexes(keyChain, "expire")[0] ?? 0 }
  }

  /**
   * v14's mapper for the data methods and `exec` (`fn(key, method, brokerIds)` → a broker
   * index or an array of them); channels and `send` keep the default hash routing. With
   * `redisUrl` the data is in Redis and only `exec` follows the mapper.
   */
  setMapper(mapper: Mapper): void {
    this.client.mapper = mapper
  }

  /** The mapper set with {@link setMapper}, else v14's default one. */
  getMapper(): Mapper {
    return this.client.mapper ?? defaultMapper
  }

  /** Sends to several brokers: `cb(err, results)` in target order, the first error at once. */
  private fanOut(
    targets: ReadonlyArray<number>,
    send: (index: number, done: Callback) => void,
    callback?: Callback
  ): void {
    const results: Array<unknown> = new Array(targets.length)
    let left = targets.length
    let failed = false
    if (left === 0) callback?.(null, [])
    targets.forEach((index, position) => {
      send(index, (error, value) => {
        if (failed || callback === undefined) return
        if (error != null) {
          failed = true
          return callback(error)
        }
        results[position] = value
        if (--left === 0) callback(null, results)
      })
    })
  }

  /**
   * `publish(channel, data, cb)`: `cb(null, data)` with the data as delivered (a broker
   * `publishIn` middleware may have changed it), or `cb(err)`.
   */
  override publish(channel: string, data: unknown, callback?: (error?: unknown, data?: unknown) => void): void {
    if (!this.pubSubOnBrokers) {
      super.publish(channel, data, (error) => (error == null ? callback?.(null, data) : callback?.(error)))
      return
    }
    this.client
      .of(channel)
      .send(
        { action: "publish", channel, data },
        callback === undefined ? undefined : (error, value) => (error == null ? callback(null, value) : callback(error))
      )
  }

  /**
   * `send(data, mapIndex, cb)`: to the `message` listeners of the brokers `mapIndex` picks
   * (null or `'*'`: all; a number `n`: broker `n mod B`; an array: one per entry, hashed;
   * another value: hashed). `cb(err, results)`, always an array in target order.
   */
  send(data: unknown, mapIndex?: unknown, callback?: Callback): void {
    const cb =
      typeof callback === "function" ? callback : typeof mapIndex === "function" ? (mapIndex as Callback) : undefined
    const index = typeof mapIndex === "function" ? null : mapIndex
    const targets = targetsOf(index, this.client.connections.length)
    this.fanOut(targets, (i, done) => this.client.connections[i]?.send({ action: "send", data }, done), cb)
  }

  /**
   * `exec(queryFn[, data], cb)`: runs the function's source on the brokers chosen by
   * `queryFn.mapIndex` (absent: broker 0; `'*'`: all, answer an array). Executes
   * arbitrary JavaScript with the broker's privileges: never build a query from client input.
   * Throws `BrokerError` synchronously for an invalid `data` variable name.
   */
  exec(query: unknown, ...rest: Array<unknown>): void {
    const last = rest[rest.length - 1]
    const callback = typeof last === "function" ? (last as Callback) : undefined
    const data = rest.length > (callback === undefined ? 0 : 1) ? rest[0] : Reflect.get(Object(query), "data")
    const source = querySource(query, data)
    const mapIndex = Reflect.get(Object(query), "mapIndex")
    const brokers = this.client.connections.length
    const send = (i: number, done: Callback) => this.client.connections[i]?.send({ action: "exec", source }, done)
    if (this.client.mapper !== undefined) {
      const answer = this.client.mapper(
        query,
        "exec",
        this.client.connections.map((_, i) => String(i))
      )
      const targets = mappedIndexes(answer, brokers)
      if (Array.isArray(answer)) this.fanOut(targets, send, callback)
      else if (targets[0] === undefined) callback?.(null, [])
      else send(targets[0], callback ?? (() => {}))
      return
    }
    if (mapIndex === undefined || mapIndex === null) {
      this.client.connections[0]?.send({ action: "exec", source }, callback ?? (() => {}))
      return
    }
    const many = mapIndex === "*" || Array.isArray(mapIndex)
    const targets = mapIndex === "*" ? targetsOf(null, brokers) : targetsOf(mapIndex, brokers)
    const cb = callback
    if (many) this.fanOut(targets, (i, done) => this.client.connections[i]?.send({ action: "exec", source }, done), cb)
    else this.client.connections[targets[0] ?? 0]?.send({ action: "exec", source }, cb ?? (() => {}))
  }

  /** The ids of the brokers a key and method go to (`map(null, 'publish')` → every broker). */
  map(key: unknown, method?: string): Array<{ readonly id: string }> {
    const brokers = this.client.connections.length
    const all = Array.from({ length: brokers }, (_, i) => ({ id: String(i) }))
    if (method === "removeAll") return all
    if ((method === "publish" || method === "subscribe" || method === "unsubscribe") && key == null) return all
    if (method === "send" || (method === "exec" && this.client.mapper === undefined))
      return targetsOf(Reflect.get(Object(key), "mapIndex"), brokers).map((i) => ({ id: String(i) }))
    if (method === "publish" || method === "subscribe" || method === "unsubscribe" || method === "isSubscribed")
      return [{ id: String(hash(key, brokers)) }]
    return this.client.dataIndexes(key, method ?? "get").map((i) => ({ id: String(i) }))
  }
}
