/**
 * The exchange's data API with v14 callbacks (sc-broker-cluster 7's `SCExchange` data
 * methods, spec framework.md §5–§6.4) over the Effect-native `DataStore`.
 *
 * Callback shapes are v14's: the callback is recognised only as the last argument and
 * only when it is a function (without one a command is fire-and-forget); a command with
 * no value to report calls back with exactly one argument (`cb(null)`); `getValue`
 * decides whether `set`/`remove`/`removeRange`/`splice`/`pop`/`concat` report a value;
 * `noAck` (`remove`, `removeRange`, `splice`) runs the command without an answer, so a
 * callback then fails after 10 s with v14's `TimeoutError`. `removeAll`, `expire` and
 * `unexpire` answer one entry per broker they reached.
 */
import { EventEmitter } from "node:events"
import { TimeoutError } from "@effect-socketcluster/protocol"
import { DataStore } from "@effect-socketcluster/server"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"

type DataStoreShape = DataStore.DataStoreShape
type KeyChain = DataStore.KeyChain
type Index = number | string

/** A v14 data callback. */
export type DataCallback = (error: unknown, value?: unknown) => void

/** Where the data lives, for the answers that report one entry per broker. */
export interface DataTargets {
  /** How many brokers hold data. */
  readonly count: number
  /** The broker holding a key chain. */
  readonly of: (keyChain: KeyChain) => number
}

const oneTarget: DataTargets = { count: 1, of: () => 0 }

/** v14: the broker answered nothing within 10 s. */
const noAnswerMs = 10_000

type Answer = { readonly _tag: "None" } | { readonly _tag: "Value"; readonly value: unknown }
const none: Answer = { _tag: "None" }
const value = (v: unknown): Answer => ({ _tag: "Value", value: v })

/** Splits v14 arguments into the leading ones and the callback (only a trailing function counts). */
const split = (args: ReadonlyArray<unknown>): [Array<unknown>, DataCallback | undefined] => {
  const last = args[args.length - 1]
  return typeof last === "function" ? [args.slice(0, -1), last as DataCallback] : [args.slice(), undefined]
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v)

/**
 * The data methods of the v14 exchange. The exchange supplies the store through
 * {@link withData} (it may not exist yet when a method is called).
 */
export abstract class DataExchange extends EventEmitter {
  /** Which brokers the answers of `removeAll`/`expire`/`unexpire` count (one, in a single process). */
  protected dataTargets: DataTargets = oneTarget

  /** Runs `action` with the data store now or once it exists. */
  protected abstract withData(action: (data: DataStoreShape) => void): void

  private command(
    action: string,
    effect: (data: DataStoreShape) => Effect.Effect<Answer, unknown>,
    callback: DataCallback | undefined,
    noAck = false
  ): void {
    this.withData((data) => {
      const fiber = Effect.runFork(effect(data))
      if (callback === undefined) return
      if (noAck) {
        setTimeout(
          () => callback(new TimeoutError({ message: `Broker Error - The ${action} action timed out` })),
          noAnswerMs
        )
        return
      }
      fiber.addObserver((exit) => {
        if (Exit.isFailure(exit)) callback(failureOf(exit))
        else if (exit.value._tag === "Value") callback(null, exit.value.value)
        else callback(null)
      })
    })
  }

  private perTarget(keyChains: ReadonlyArray<KeyChain> | undefined): Answer {
    const brokers =
      keyChains === undefined
        ? this.dataTargets.count
        : new Set(Array.isArray(keyChains) ? keyChains.map((k) => this.dataTargets.of(k)) : [0]).size
    return value(new Array<undefined>(brokers).fill(undefined))
  }

  /** `set(keyChain, value[, getValue], cb?)`: `cb(err)`, or `cb(err, value)` with `getValue`. */
  set(keyChain: KeyChain, ...rest: Array<unknown>): void {
    const [[v, getValue], cb] = split(rest)
    this.command("set", (d) => Effect.as(d.set(keyChain, v), getValue ? value(DataStore.jsonCopy(v)) : none), cb)
  }

  /** `get(keyChain, cb)`: `cb(null)` when absent, else `cb(null, value)`. */
  get(keyChain: KeyChain, callback?: DataCallback): void {
    this.command("get", (d) => Effect.map(d.get(keyChain), (v) => (v === undefined ? none : value(v))), callback)
  }

  /** `getAll(cb)`: everything this exchange's store holds. */
  getAll(callback?: DataCallback): void {
    this.command("getAll", (d) => Effect.map(d.getAll, value), callback)
  }

  /** `getRange(keyChain, fromIndex[, toIndex], cb)`. */
  getRange(keyChain: KeyChain, fromIndex: Index, ...rest: Array<unknown>): void {
    const [[toIndex], cb] = split(rest)
    this.command("getRange", (d) => Effect.map(d.getRange(keyChain, fromIndex, indexOrUndefined(toIndex)), value), cb)
  }

  /** `count(keyChain, cb)`. */
  count(keyChain: KeyChain, callback?: DataCallback): void {
    this.command("count", (d) => Effect.map(d.count(keyChain), value), callback)
  }

  /** `hasKey(keyChain, cb)`. */
  hasKey(keyChain: KeyChain, callback?: DataCallback): void {
    this.command("hasKey", (d) => Effect.map(d.hasKey(keyChain), value), callback)
  }

  /** `add(keyChain, value[, ignored], cb?)`: `cb(err, insertionIndex)`. */
  add(keyChain: KeyChain, ...rest: Array<unknown>): void {
    const [[v], cb] = split(rest)
    this.command("add", (d) => Effect.map(d.add(keyChain, v), value), cb)
  }

  /** `concat(keyChain, value[, getValue], cb?)` (sc-broker's client method; not on v14's exchange). */
  concat(keyChain: KeyChain, ...rest: Array<unknown>): void {
    const [[v, getValue], cb] = split(rest)
    this.command("concat", (d) => Effect.as(d.concat(keyChain, v), getValue ? value(DataStore.jsonCopy(v)) : none), cb)
  }

  /** `remove(keyChain[, getValue | {getValue, noAck}], cb?)`. */
  remove(keyChain: KeyChain, ...rest: Array<unknown>): void {
    const [[options], cb] = split(rest)
    const { getValue, noAck } = isRecord(options)
      ? { getValue: Boolean(options.getValue), noAck: Boolean(options.noAck) }
      : { getValue: Boolean(options), noAck: false }
    this.command("remove", (d) => Effect.map(d.remove(keyChain), (v) => (getValue ? value(v) : none)), cb, noAck)
  }

  /** `removeRange(keyChain, fromIndex[, toIndex[, getValue]], cb?)` or `(keyChain, fromIndex, {toIndex, getValue, noAck}, cb)`. */
  removeRange(keyChain: KeyChain, fromIndex: Index, ...rest: Array<unknown>): void {
    const [[third, fourth], cb] = split(rest)
    const { toIndex, getValue, noAck } = isRecord(third)
      ? { toIndex: indexOrUndefined(third.toIndex), getValue: Boolean(third.getValue), noAck: Boolean(third.noAck) }
      : { toIndex: indexOrUndefined(third), getValue: Boolean(fourth), noAck: false }
    this.command(
      "removeRange",
      (d) => Effect.map(d.removeRange(keyChain, fromIndex, toIndex), (v) => (getValue ? value(v) : none)),
      cb,
      noAck
    )
  }

  /** `removeAll(cb?)`: `cb(err, [undefined × brokers])`. */
  removeAll(callback?: DataCallback): void {
    this.command("removeAll", (d) => Effect.as(d.removeAll, this.perTarget(undefined)), callback)
  }

  /** `splice(keyChain[, {index, count, items, getValue, noAck}], cb?)`. */
  splice(keyChain: KeyChain, ...rest: Array<unknown>): void {
    const [[options], cb] = split(rest)
    const o = isRecord(options) ? options : {}
    const spliceOptions = {
      index: typeof o.index === "number" ? o.index : undefined,
      count: typeof o.count === "number" ? o.count : undefined,
      items: Array.isArray(o.items) ? o.items : undefined
    }
    this.command(
      "splice",
      (d) => Effect.map(d.splice(keyChain, spliceOptions), (v) => (o.getValue ? value(v) : none)),
      cb,
      Boolean(o.noAck)
    )
  }

  /** `pop(keyChain[, getValue], cb?)`: `cb(err[, [lastItem]])`. */
  pop(keyChain: KeyChain, ...rest: Array<unknown>): void {
    const [[getValue], cb] = split(rest)
    this.command("pop", (d) => Effect.map(d.pop(keyChain), (v) => (getValue ? value(v) : none)), cb)
  }

  /** `expire(keyChains[], seconds, cb?)`: `cb(err, [undefined × brokers holding some of the keys])`. */
  expire(keyChains: ReadonlyArray<KeyChain>, seconds: number, callback?: DataCallback): void {
    this.command("expire", (d) => Effect.as(d.expire(keyChains, seconds), this.perTarget(keyChains)), callback)
  }

  /** `unexpire(keyChains[], cb?)`. */
  unexpire(keyChains: ReadonlyArray<KeyChain>, callback?: DataCallback): void {
    this.command("unexpire", (d) => Effect.as(d.unexpire(keyChains), this.perTarget(keyChains)), callback)
  }

  /** `getExpiry(keyChain, cb)`: Unix seconds or `cb(null)` (sc-broker's client method; not on v14's exchange). */
  getExpiry(keyChain: KeyChain, callback?: DataCallback): void {
    this.command(
      "getExpiry",
      (d) => Effect.map(d.getExpiry(keyChain), (v) => (v === undefined ? none : value(v))),
      callback
    )
  }

  /** Own enumerable keys (synchronous; v14.4.2 threw a `TypeError` here). */
  extractKeys(object: object): Array<string> {
    return Object.keys(object)
  }

  /** Own enumerable values (synchronous). */
  extractValues(object: object): Array<unknown> {
    return Object.values(object)
  }
}

const indexOrUndefined = (v: unknown): Index | undefined =>
  typeof v === "number" || typeof v === "string" ? v : undefined

/** The error of a failed exit (its first failure or defect). */
export const failureOf = (exit: Exit.Exit<unknown, unknown>): unknown => {
  if (Exit.isSuccess(exit)) return undefined
  const reason = exit.cause.reasons[0]
  if (reason === undefined) return undefined
  return reason._tag === "Fail" ? reason.error : reason._tag === "Die" ? reason.defect : undefined
}
