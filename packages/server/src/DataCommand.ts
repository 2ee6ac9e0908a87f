/**
 * The data API as commands: one plain, JSON-safe value per call. Every store is a way to
 * carry a command to a `KeyChainMap` and its answer back — in this process
 * (`DataStoreMemory`), to a broker process (the framework) or into Redis — so each store
 * is built by {@link fromRunner} from one `run` function, and the key-chain semantics live
 * in one place ({@link apply}).
 */
import * as Effect from "effect/Effect"
import {
  DataStoreError,
  type DataStoreShape,
  invalidKeyChain,
  isKeyChain,
  jsonCopy,
  type KeyChain
} from "./DataStore.js"
import type { Expiries } from "./Expiries.js"
import type { KeyChainMap } from "./KeyChainMap.js"

type Index = number | string

export type DataCommand =
  | { readonly action: "set"; readonly key: KeyChain; readonly value: unknown }
  | { readonly action: "get"; readonly key: KeyChain }
  | { readonly action: "getAll" }
  | { readonly action: "getRange"; readonly key: KeyChain; readonly fromIndex: Index; readonly toIndex?: Index }
  | { readonly action: "count"; readonly key: KeyChain }
  | { readonly action: "hasKey"; readonly key: KeyChain }
  | { readonly action: "add"; readonly key: KeyChain; readonly value: unknown }
  | { readonly action: "concat"; readonly key: KeyChain; readonly value: unknown }
  | { readonly action: "remove"; readonly key: KeyChain }
  | { readonly action: "removeRange"; readonly key: KeyChain; readonly fromIndex: Index; readonly toIndex?: Index }
  | { readonly action: "removeAll" }
  | {
      readonly action: "splice"
      readonly key: KeyChain
      readonly index?: number
      readonly count?: number
      readonly items?: ReadonlyArray<unknown>
    }
  | { readonly action: "pop"; readonly key: KeyChain }
  | { readonly action: "expire"; readonly keys: ReadonlyArray<KeyChain>; readonly seconds: number }
  | { readonly action: "unexpire"; readonly keys: ReadonlyArray<KeyChain> }
  | { readonly action: "getExpiry"; readonly key: KeyChain }

export type DataAction = DataCommand["action"]

const dataActions: ReadonlySet<string> = new Set<DataAction>([
  "set",
  "get",
  "getAll",
  "getRange",
  "count",
  "hasKey",
  "add",
  "concat",
  "remove",
  "removeRange",
  "removeAll",
  "splice",
  "pop",
  "expire",
  "unexpire",
  "getExpiry"
])

const isIndex = (value: unknown): value is Index =>
  typeof value === "string" || (typeof value === "number" && Number.isFinite(value))
const isOptionalIndex = (value: unknown): boolean => value === undefined || value === null || isIndex(value)
const isOptionalInt = (value: unknown): boolean => value === undefined || Number.isInteger(value)

/** Why `command` is malformed, or `undefined` when a store may run it. */
export const validate = (command: DataCommand): DataStoreError | undefined => {
  const c = command as DataCommand & Record<string, unknown>
  if (!dataActions.has(c.action)) return invalid(`Unknown data action ${String(c.action)}`)
  if ("key" in c && !isKeyChain(c.key)) return invalidKeyChain(c.key)
  if ("keys" in c) {
    if (!Array.isArray(c.keys)) return invalid("The key chains must be given as an array of key chains")
    const bad = (c.keys as ReadonlyArray<unknown>).find((k) => !isKeyChain(k))
    if (bad !== undefined) return invalidKeyChain(bad)
  }
  if (c.action === "expire" && !(typeof c.seconds === "number" && Number.isFinite(c.seconds))) {
    return invalid("The expiry must be a finite number of seconds")
  }
  if (
    (c.action === "getRange" || c.action === "removeRange") &&
    !(isIndex(c.fromIndex) && isOptionalIndex(c.toIndex))
  ) {
    return invalid("fromIndex must be a number or string, toIndex a number, a string or absent")
  }
  if (c.action === "splice" && !(isOptionalInt(c.index) && isOptionalInt(c.count))) {
    return invalid("splice index and count must be integers")
  }
  if (c.action === "splice" && c.items !== undefined && !Array.isArray(c.items)) {
    return invalid("splice items must be an array")
  }
  return undefined
}

const invalid = (message: string) => new DataStoreError({ reason: "InvalidArguments", message })

/** Runs a validated command against one map and its expiries; returns the answer (JSON-safe). */
export const apply = (map: KeyChainMap, expiries: Expiries, nowMs: number, command: DataCommand): unknown => {
  switch (command.action) {
    case "set":
      return map.set(command.key, command.value)
    case "get":
      return map.get(command.key)
    case "getAll":
      return map.getAll()
    case "getRange":
      return map.getRange(command.key, command.fromIndex, command.toIndex)
    case "count":
      return map.count(command.key)
    case "hasKey":
      return map.hasKey(command.key)
    case "add":
      return map.add(command.key, command.value)
    case "concat":
      return map.concat(command.key, command.value)
    case "remove":
      return map.remove(command.key)
    case "removeRange":
      return map.removeRange(command.key, command.fromIndex, command.toIndex)
    case "removeAll":
      return map.removeAll()
    case "splice":
      return map.splice(command.key, command.index, command.count, command.items)
    case "pop":
      return map.pop(command.key)
    case "expire":
      return expiries.expire(command.keys, command.seconds, nowMs)
    case "unexpire":
      return expiries.unexpire(command.keys)
    case "getExpiry":
      return expiries.getExpiry(command.key)
  }
}

/** Removes every chain whose expiry has come; returns how many. */
export const sweep = (map: KeyChainMap, expiries: Expiries, nowMs: number): number => {
  const due = expiries.takeDue(nowMs)
  for (const keyChain of due) map.remove(keyChain)
  return due.length
}

/** Carries a validated command to a store and brings its answer back. */
export type Runner = (command: DataCommand) => Effect.Effect<unknown, DataStoreError>

const asNumber = (value: unknown): number => (typeof value === "number" ? value : 0)
const asArray = (value: unknown): Array<unknown> => (Array.isArray(value) ? value : [])

/**
 * A data store from a runner: validates each call (a malformed call fails with
 * `InvalidArguments` and reaches no store), JSON-copies values on the way in and shapes
 * the answers.
 */
export const fromRunner = (run: Runner): DataStoreShape => {
  const send = (command: DataCommand): Effect.Effect<unknown, DataStoreError> =>
    Effect.suspend(() => {
      const error = validate(command)
      return error === undefined ? run(command) : Effect.fail(error)
    })
  return {
    set: (key, value) => Effect.asVoid(send({ action: "set", key, value: jsonCopy(value) })),
    get: (key) => send({ action: "get", key }),
    getAll: send({ action: "getAll" }),
    getRange: (key, fromIndex, toIndex) =>
      send(
        toIndex === undefined ? { action: "getRange", key, fromIndex } : { action: "getRange", key, fromIndex, toIndex }
      ),
    count: (key) => Effect.map(send({ action: "count", key }), asNumber),
    hasKey: (key) => Effect.map(send({ action: "hasKey", key }), (value) => value === true),
    add: (key, value) => Effect.map(send({ action: "add", key, value: jsonCopy(value) }), asNumber),
    concat: (key, value) => Effect.asVoid(send({ action: "concat", key, value: jsonCopy(value) })),
    remove: (key) => send({ action: "remove", key }),
    removeRange: (key, fromIndex, toIndex) =>
      send(
        toIndex === undefined
          ? { action: "removeRange", key, fromIndex }
          : { action: "removeRange", key, fromIndex, toIndex }
      ),
    removeAll: Effect.asVoid(send({ action: "removeAll" })),
    splice: (key, options) =>
      Effect.map(
        send({
          action: "splice",
          key,
          ...(options.index === undefined ? {} : { index: options.index }),
          ...(options.count === undefined ? {} : { count: options.count }),
          ...(options.items === undefined ? {} : { items: asArray(jsonCopy(options.items)) })
        }),
        asArray
      ),
    pop: (key) => Effect.map(send({ action: "pop", key }), asArray),
    expire: (keys, seconds) => Effect.asVoid(send({ action: "expire", keys, seconds })),
    unexpire: (keys) => Effect.asVoid(send({ action: "unexpire", keys })),
    getExpiry: (key) =>
      Effect.map(send({ action: "getExpiry", key }), (value) => (typeof value === "number" ? value : undefined))
  }
}
