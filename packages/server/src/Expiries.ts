/**
 * Expiry times of key chains (v14 expirymanager semantics): each chain expires at a whole
 * Unix second; the entry belongs to the chain as written (the string `"a"` and the chain
 * `["a"]` are two entries that remove the same data) and survives the removal of its data.
 */
import type { KeyChain } from "./DataStore.js"

interface Entry {
  readonly keyChain: KeyChain
  readonly at: number
}

export class Expiries {
  private readonly entries = new Map<string, Entry>()

  /** Sets (or replaces) the expiry of each chain to `round(now / 1000) + seconds`. */
  expire(keyChains: ReadonlyArray<KeyChain>, seconds: number, nowMs: number): void {
    const at = Math.round(nowMs / 1000) + seconds
    for (const keyChain of keyChains) this.entries.set(JSON.stringify(keyChain), { keyChain, at })
  }

  unexpire(keyChains: ReadonlyArray<KeyChain>): void {
    for (const keyChain of keyChains) this.entries.delete(JSON.stringify(keyChain))
  }

  /** Unix seconds, or `undefined`. */
  getExpiry(keyChain: KeyChain): number | undefined {
    return this.entries.get(JSON.stringify(keyChain))?.at
  }

  /** Takes out and returns every chain whose time has come. */
  takeDue(nowMs: number): Array<KeyChain> {
    const now = nowMs / 1000
    const due: Array<KeyChain> = []
    for (const [id, entry] of this.entries) {
      if (entry.at > now) continue
      due.push(entry.keyChain)
      this.entries.delete(id)
    }
    return due
  }

  get size(): number {
    return this.entries.size
  }
}
