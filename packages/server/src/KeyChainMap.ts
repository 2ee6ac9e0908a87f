/**
 * The data structure behind the exchange's data API: a tree of containers addressed by
 * key chains, with the semantics of v14's broker store (spec framework.md §6.2–§6.3).
 *
 * - A key chain is one key or an array of keys; there is no dot-path parsing and `0`
 *   and `"0"` name the same slot.
 * - Plain objects and arrays stored as values become nested containers, so later chains
 *   reach into them; a read returns a plain copy (an array when the container came from
 *   an array or `add` and still has slots `0…n−1` without holes and no named keys).
 * - `undefined` means absent; `null` is a value.
 *
 * Pure and synchronous: the in-memory store, the broker processes and the Redis scripts'
 * caller all run this one implementation. Values given to it are taken over (the caller
 * copies them first when they must stay independent).
 */
import type { KeyChain } from "./DataStore.js"

type Node = Container | Leaf
type Leaf = null | boolean | number | string | ReadonlyArray<unknown> | object

const indexPattern = /^(?:0|[1-9][0-9]*)$/
const maxIndex = 2 ** 32 - 2

/** The numeric slot a key names, or -1 for a named key. */
const slotOf = (key: string | number): number => {
  if (typeof key === "number") return Number.isInteger(key) && key >= 0 && key <= maxIndex ? key : -1
  if (!indexPattern.test(key)) return -1
  const n = Number(key)
  return n <= maxIndex ? n : -1
}

const isPlainObject = (value: unknown): value is Record<string, unknown> => {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** One level of the tree: numeric slots (sparse, JS array semantics) then named keys in insertion order. */
export class Container {
  readonly slots: Array<Node | undefined> = []
  readonly named = new Map<string, Node>()

  constructor(readonly asArray: boolean) {}

  static from(value: unknown): Node | undefined {
    if (value === undefined) return undefined
    if (Array.isArray(value)) {
      const c = new Container(true)
      for (let i = 0; i < value.length; i++) {
        const child = Container.from(value[i])
        if (child !== undefined) c.slots[i] = child
      }
      return c
    }
    if (isPlainObject(value)) {
      const c = new Container(false)
      for (const key of Object.keys(value)) c.put(key, Container.from(value[key]))
      return c
    }
    return value as Leaf
  }

  get length(): number {
    return this.slots.length
  }

  at(key: string | number): Node | undefined {
    const slot = slotOf(key)
    return slot >= 0 ? this.slots[slot] : this.named.get(String(key))
  }

  put(key: string | number, node: Node | undefined): void {
    if (node === undefined) {
      this.take(key)
      return
    }
    const slot = slotOf(key)
    if (slot >= 0) this.slots[slot] = node
    else this.named.set(String(key), node)
  }

  /** Removes `key`, leaving a hole for a numeric slot (the length does not change). */
  take(key: string | number): Node | undefined {
    const slot = slotOf(key)
    if (slot < 0) {
      const name = String(key)
      const node = this.named.get(name)
      this.named.delete(name)
      return node
    }
    const node = this.slots[slot]
    if (slot < this.slots.length) delete this.slots[slot]
    return node
  }

  /** Own keys in enumeration order: numeric slots ascending, then named keys. */
  keys(): Array<string> {
    const out: Array<string> = []
    this.slots.forEach((node, i) => {
      if (node !== undefined) out.push(String(i))
    })
    for (const name of this.named.keys()) out.push(name)
    return out
  }

  toPlain(): unknown {
    if (this.asArray && this.named.size === 0) {
      const out: Array<unknown> = new Array(this.slots.length)
      let dense = true
      for (let i = 0; i < this.slots.length; i++) {
        const node = this.slots[i]
        if (node === undefined) {
          dense = false
          break
        }
        out[i] = plain(node)
      }
      if (dense) return out
    }
    const out: Record<string, unknown> = {}
    for (const key of this.keys()) out[key] = plain(this.at(key))
    return out
  }
}

const plain = (node: Node | undefined): unknown => (node instanceof Container ? node.toPlain() : node)

const chainOf = (keyChain: KeyChain): ReadonlyArray<string | number> =>
  Array.isArray(keyChain) ? keyChain : [keyChain as string | number]

/** The whole store of one process (or one broker shard). */
export class KeyChainMap {
  private root = new Container(false)

  private raw(keyChain: KeyChain): Node | undefined {
    let node: Node | undefined = this.root
    for (const key of chainOf(keyChain)) {
      if (!(node instanceof Container)) return undefined
      node = node.at(key)
    }
    return node
  }

  /** The container holding the last key of the chain, creating (or replacing non-containers with) objects on the way. */
  private parentForWrite(chain: ReadonlyArray<string | number>): Container {
    let parent = this.root
    for (let i = 0; i < chain.length - 1; i++) {
      const key = chain[i] as string | number
      const next = parent.at(key)
      if (next instanceof Container) parent = next
      else {
        const created = new Container(false)
        parent.put(key, created)
        parent = created
      }
    }
    return parent
  }

  private parentOf(chain: ReadonlyArray<string | number>): Container | undefined {
    const parent = chain.length < 2 ? this.root : this.raw(chain.slice(0, -1))
    return parent instanceof Container ? parent : undefined
  }

  set(keyChain: KeyChain, value: unknown): void {
    const chain = chainOf(keyChain)
    this.parentForWrite(chain).put(chain[chain.length - 1] as string | number, Container.from(value))
  }

  get(keyChain: KeyChain): unknown {
    return plain(this.raw(keyChain))
  }

  getAll(): unknown {
    return this.root.toPlain()
  }

  hasKey(keyChain: KeyChain): boolean {
    return this.raw(keyChain) !== undefined
  }

  /** Own keys of a container; 1 for a truthy value; 0 for a falsy value or a missing key. */
  count(keyChain: KeyChain): number {
    const node = this.raw(keyChain)
    if (node instanceof Container) return node.keys().length
    return node ? 1 : 0
  }

  /** Appends `value` and returns its index (a missing key becomes `[value]`, a value `s` becomes `[s, value]`). */
  add(keyChain: KeyChain, value: unknown): number {
    const chain = chainOf(keyChain)
    const target = this.raw(chain)
    if (target instanceof Container) {
      const index = target.length
      target.put(index, Container.from(value))
      return index
    }
    const list = target === undefined || target === null ? [value] : [target, value]
    this.parentForWrite(chain).put(chain[chain.length - 1] as string | number, Container.from(list))
    return list.length - 1
  }

  /** Appends the items of an array value (or merges an object value's keys; other values are wrapped in an array). */
  concat(keyChain: KeyChain, value: unknown): void {
    const chain = chainOf(keyChain)
    const items = Array.isArray(value) || isPlainObject(value) ? value : [value]
    const target = this.raw(chain)
    if (target instanceof Container) {
      if (Array.isArray(items)) {
        let index = target.length
        for (const item of items) target.put(index++, Container.from(item))
      } else for (const key of Object.keys(items)) target.put(key, Container.from(items[key]))
      return
    }
    const merged = !target ? items : [target, ...(Array.isArray(items) ? items : Object.values(items))]
    this.parentForWrite(chain).put(chain[chain.length - 1] as string | number, Container.from(merged))
  }

  /**
   * Array: items `from…to−1` (`to` absent, 0 or past the end: to the end). Object: the keys
   * from the one equal to `from` up to, not including, the one equal to `to`. Missing: `{}`.
   */
  getRange(keyChain: KeyChain, fromIndex: number | string, toIndex?: number | string): unknown {
    const value = this.get(keyChain)
    if (Array.isArray(value)) return value.slice(Number(fromIndex), endOf(value.length, toIndex))
    return keyWindow(value, fromIndex, toIndex, () => {})
  }

  remove(keyChain: KeyChain): unknown {
    const chain = chainOf(keyChain)
    const parent = this.parentOf(chain)
    return parent === undefined ? undefined : plain(parent.take(chain[chain.length - 1] as string | number))
  }

  removeRange(keyChain: KeyChain, fromIndex: number | string, toIndex?: number | string): unknown {
    const value = this.get(keyChain)
    if (Array.isArray(value)) {
      const from = Number(fromIndex)
      const removed = value.splice(from, endOf(value.length, toIndex) - from)
      this.set(keyChain, value)
      return removed
    }
    const chain = chainOf(keyChain)
    const node = this.raw(chain)
    return keyWindow(value, fromIndex, toIndex, (key) => {
      if (node instanceof Container) node.take(key)
    })
  }

  removeAll(): void {
    this.root = new Container(false)
  }

  /** `Array.prototype.splice` on the container's numeric slots; `[]` for a missing or scalar target. */
  splice(keyChain: KeyChain, index?: number, count?: number, items?: ReadonlyArray<unknown>): Array<unknown> {
    const target = this.raw(keyChain)
    if (!(target instanceof Container) || index === undefined) return []
    const inserted = (items ?? []).map((item) => Container.from(item))
    const removed =
      count === undefined && inserted.length === 0
        ? target.slots.splice(index)
        : target.slots.splice(index, count ?? 0, ...inserted)
    return removed.map(plain)
  }

  /** Removes the last numeric slot; `[item]`, or `[]` when there is none. */
  pop(keyChain: KeyChain): Array<unknown> {
    return this.splice(keyChain, -1, 1)
  }
}

const endOf = (length: number, toIndex: number | string | undefined): number => {
  const to = toIndex === undefined || toIndex === null ? 0 : Number(toIndex)
  return !to || to > length ? length : to
}

const keyWindow = (
  value: unknown,
  fromIndex: number | string,
  toIndex: number | string | undefined,
  onKey: (key: string) => void
): Record<string, unknown> => {
  const range: Record<string, unknown> = {}
  if (value === null || typeof value !== "object") return range
  const record = value as Record<string, unknown>
  const from = String(fromIndex)
  const to = toIndex === undefined || toIndex === null || toIndex === 0 ? undefined : String(toIndex)
  let recording = false
  for (const key of Object.keys(record)) {
    if (key === from) recording = true
    if (recording && key === to) break
    if (recording) {
      range[key] = record[key]
      onKey(key)
    }
  }
  return range
}
