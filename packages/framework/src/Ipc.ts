/**
 * Request/response over a Node IPC channel (`process.send` / `child.send`): the master's
 * `sendToWorker`/`sendToBroker` and the children's `sendToMaster`. A request carries a
 * `cid` only when the sender passed a callback; the answer comes back as a `response`
 * message with that `rid`; no answer within `ipcAckTimeout` → v14's `TimeoutError`
 * "IPC response timed out".
 */
import { dehydrate, hydrate, TimeoutError } from "@effect-socketcluster/protocol"

/** v14 IPC callback: `(err, data, …extra)`. */
export type IpcCallback = (error: unknown, data?: unknown, ...extra: Array<unknown>) => void

/** The answer to a request. */
export interface IpcResponse {
  readonly type: "response"
  readonly rid: number
  readonly error?: unknown
  readonly data?: unknown
  readonly [route: string]: unknown
}

export const isMessage = (value: unknown): value is { readonly type: string; readonly [key: string]: unknown } =>
  value !== null && typeof value === "object" && typeof Reflect.get(value, "type") === "string"

export class Ipc {
  private nextCid = 1
  private readonly waiting = new Map<number, { readonly callback: IpcCallback; readonly timer: NodeJS.Timeout }>()

  constructor(private readonly timeoutMs: number) {}

  /** A cid for a new request whose answer goes to `callback` (or `undefined` when there is none). */
  expect(callback: IpcCallback | undefined, extra: ReadonlyArray<unknown> = []): number | undefined {
    if (callback === undefined) return undefined
    const cid = this.nextCid++
    const timer = setTimeout(() => {
      this.waiting.delete(cid)
      callback(new TimeoutError({ message: "IPC response timed out" }), undefined, ...extra)
    }, this.timeoutMs)
    timer.unref()
    this.waiting.set(cid, { callback: (error, data) => callback(error, data, ...extra), timer })
    return cid
  }

  /** Delivers an answer to its waiting callback (a late or unknown answer is dropped). */
  settle(response: IpcResponse): void {
    const entry = this.waiting.get(response.rid)
    if (entry === undefined) return
    this.waiting.delete(response.rid)
    clearTimeout(entry.timer)
    entry.callback(response.error == null ? null : hydrate(response.error), response.data)
  }

  /** Fails every waiting callback (the other side went away). */
  failAll(error: unknown): void {
    for (const [cid, entry] of this.waiting) {
      clearTimeout(entry.timer)
      this.waiting.delete(cid)
      entry.callback(error)
    }
  }
}

/** The `respond(err, data)` given to a message handler: answers once, only when the sender asked for an answer. */
export const responder = (
  cid: unknown,
  send: (response: IpcResponse) => void,
  route: Record<string, unknown> = {}
): ((error?: unknown, data?: unknown) => void) => {
  let done = false
  return (error, data) => {
    if (done || typeof cid !== "number") return
    done = true
    send({ ...route, type: "response", rid: cid, error: error == null ? null : dehydrate(error), data })
  }
}

/** An error as it crosses a process boundary, with its stack (for `fail` events). */
export const errorToWire = (error: unknown): unknown => {
  if (error instanceof Error) {
    const out: Record<string, unknown> = { message: error.message, name: error.name, stack: error.stack }
    for (const key of Object.keys(error)) out[key] = Reflect.get(error, key)
    return JSON.parse(JSON.stringify(out, (_k, v) => (typeof v === "bigint" ? String(v) : v)))
  }
  return dehydrate(error)
}

/** The options a parent handed to this process as JSON (`{}` when absent or malformed). */
export const inheritedOptions = (text: string | undefined): Record<string, unknown> => {
  if (text === undefined) return {}
  try {
    const parsed: unknown = JSON.parse(text)
    return parsed !== null && typeof parsed === "object" ? (parsed as Record<string, unknown>) : {}
  } catch {
    return {}
  }
}

/**
 * A worker's or broker's side of the master IPC: `sendToMaster` (answered within
 * `ipcAckTimeout`) and the master's `masterMessage(data, respond)`.
 */
export class MasterLink {
  private readonly ipc: Ipc

  constructor(
    timeoutMs: number,
    /** The message type the master knows this child's messages by. */
    private readonly messageType: "workerMessage" | "brokerMessage",
    /** Fields every message to the master carries (the child's id). */
    private readonly route: Record<string, unknown>
  ) {
    this.ipc = new Ipc(timeoutMs)
  }

  /** → the master's `workerMessage`/`brokerMessage(id, data, respond)`; `callback(err, data)`. */
  send(data: unknown, callback?: IpcCallback): void {
    const cid = this.ipc.expect(callback)
    process.send?.({ type: this.messageType, ...this.route, data, cid })
  }

  /**
   * Handles an answer or a `masterMessage` (given to `onMessage` with its `respond`);
   * `false` for any other message.
   */
  receive(
    message: { readonly type: string; readonly [key: string]: unknown },
    onMessage: MasterMessageHandler
  ): boolean {
    if (message.type === "response") this.ipc.settle(message as IpcResponse)
    else if (message.type === "masterMessage") {
      onMessage(
        message.data,
        responder(message.cid, (r) => process.send?.(r), this.messageType === "workerMessage" ? this.route : {})
      )
    } else return false
    return true
  }
}

export type MasterMessageHandler = (data: unknown, respond: (error?: unknown, data?: unknown) => void) => void
