/**
 * Calls waiting for their answer, by cid. One counter per client, never reset on
 * reconnect (as socketcluster-client does).
 */
import type { Cid } from "@effect-socketcluster/protocol"

export interface PendingCall {
  /** The answer arrived; `error` is the wire error (absent or null when the call succeeded). */
  readonly onAnswer: (error: unknown, data: unknown) => void
  /** The connection ended before the answer. */
  readonly onDrop: () => void
}

export class Calls {
  private cid = 0
  private readonly pending = new Map<Cid, PendingCall>()

  next(): number {
    return ++this.cid
  }

  register(cid: number, call: PendingCall): void {
    this.pending.set(cid, call)
  }

  forget(cid: number): void {
    this.pending.delete(cid)
  }

  /** Delivers an answer; an answer for no pending call is ignored (spec §3.2). */
  answer(rid: Cid, error: unknown, data: unknown): void {
    // A v14 peer may echo a numeric cid as a string.
    const key = typeof rid === "string" && this.pending.has(Number(rid)) ? Number(rid) : rid
    const call = this.pending.get(key)
    if (call === undefined) return
    this.pending.delete(key)
    call.onAnswer(error, data)
  }

  dropAll(): void {
    const calls = [...this.pending.values()]
    this.pending.clear()
    for (const call of calls) call.onDrop()
  }
}
