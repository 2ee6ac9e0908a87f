/**
 * A socket's RPC in both directions: client events through the emit middleware to their
 * listeners and handler (each handler in a fiber of its own, answered with its success or
 * failure), and server-to-client emits with their pending acks, timeouts and aborts.
 */
import {
  type AuthTokenExpiredError,
  BadConnectionError,
  type Cid,
  hydrate,
  InvalidActionError,
  ResourceLimitError,
  TimeoutError
} from "@effect-socketcluster/protocol"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { isFinished } from "./Finished.js"
import { isLocalEventName } from "./SCSocket.js"
import { hasCid, type SocketCore } from "./SocketCore.js"
import { ClientError } from "./SocketErrors.js"
import type { Respond } from "./SocketEvents.js"
import { respond, sendObject } from "./SocketWriter.js"
import * as Tracing from "./Tracing.js"

export function event(
  s: SocketCore,
  event: string,
  cid: Cid | undefined,
  data: unknown,
  expired: AuthTokenExpiredError | undefined
): Effect.Effect<void> | undefined {
  if (isLocalEventName(event)) return undefined
  if (event.startsWith("#")) {
    // Other `#` events skip the emit middleware (v14, for both protocols: spec
    // protocol-v2.md §3.5); a listener or handler may answer them (socketcluster-server 14.7.2).
    dispatch(s, event, cid, data)
    return undefined
  }
  if (hasCid(cid) && s.pendingInboundRpcs >= s.host.options.maxPendingInboundRpcs) {
    respond(
      s,
      cid,
      new ResourceLimitError({
        message: `Too many pending requests (limit ${s.host.options.maxPendingInboundRpcs})`
      }),
      undefined
    )
    return undefined
  }
  if (!s.host.pipeline.has("emit")) {
    dispatch(s, event, cid, data)
    return undefined
  }
  const req = { socket: s, event, data, authTokenExpiredError: expired }
  return s.host.pipeline.gate(
    "emit",
    req,
    () => dispatch(s, event, cid, req.data),
    (blocked) => respond(s, cid, blocked.error, undefined)
  )
}

// Hands an event to its listeners and handler. A handler that answers at once is
// answered at once; others run concurrently (one fiber each), so a slow handler does
// not hold up the socket's later packets. Without listeners and tracing, an `echo`
// that answers at once costs no fiber and no closure.
export function dispatch(s: SocketCore, event: string, cid: Cid | undefined, data: unknown): void {
  // A listener may answer too: then only the first answer goes out.
  const reply = s.hub.listens("Event") ? answerOnce(s, cid) : undefined
  if (reply !== undefined) s.host.relay(s, { _tag: "Event", event, data, respond: reply })
  const handler = s.handlers?.get(event) ?? s.host.findHandler(event)
  if (handler === undefined) return
  if (s.host.tracing) {
    const run = Effect.suspend(() => handler(data, s))
    const traced = Tracing.span(true, "sc.procedure", () => ({ "sc.socket.id": s.id, "sc.event": event }), run)
    return runHandler(s, cid, traced, (exit) => settle(s, event, cid, exit, reply))
  }
  let result: Effect.Effect<unknown, unknown>
  try {
    result = handler(data, s)
  } catch (defect) {
    result = Exit.die(defect)
  }
  // `Effect.succeed(data)` is an Exit: answered now, without a fiber.
  if (isFinished(result)) return settle(s, event, cid, result, reply)
  runHandler(s, cid, result, (exit) => settle(s, event, cid, exit, reply))
}

function answerOnce(s: SocketCore, cid: Cid | undefined): Respond {
  let answered = false
  return (error, responseData) => {
    if (!hasCid(cid)) return
    if (answered) {
      s.emitError(new InvalidActionError({ message: `Response ${String(cid)} has already been sent` }))
      return
    }
    answered = true
    respond(s, cid, error === null ? undefined : error, responseData)
  }
}

// A handler's outcome as the answer (through `reply` when a listener could answer too):
// its success, its failure, or for a defect a generic error.
function settle(
  s: SocketCore,
  event: string,
  cid: Cid | undefined,
  exit: Exit.Exit<unknown, unknown>,
  reply: Respond | undefined
): void {
  let error: unknown
  let data: unknown
  if (Exit.isSuccess(exit)) {
    data = exit.value
  } else {
    const failure = Cause.findErrorOption(exit.cause)
    if (failure._tag === "Some") {
      error = failure.value
    } else {
      if (Cause.hasInterruptsOnly(exit.cause)) return
      s.host.defect(`the ${event} handler`, exit.cause)
      error = new InvalidActionError({ message: `The ${event} handler failed` })
    }
  }
  if (reply === undefined) respond(s, cid, error, data)
  else reply(error ?? null, data)
}

// Runs a handler that did not answer at once in a fiber of its own; it counts as pending until then.
function runHandler(
  s: SocketCore,
  cid: Cid | undefined,
  run: Effect.Effect<unknown, unknown>,
  settle: (exit: Exit.Exit<unknown, unknown>) => void
): void {
  if (hasCid(cid)) s.pendingInboundRpcs++
  s.host.runFork(run).addObserver((exit) => {
    if (hasCid(cid)) s.pendingInboundRpcs--
    settle(exit)
  })
}

/**
 * Emits `event` to the client. With a callback a cid is sent and the callback gets the
 * client's answer, or a `TimeoutError` after `ackTimeout`.
 */
export function emitUnsafe(
  s: SocketCore,
  event: string,
  data: unknown,
  callback?: (error: unknown, data: unknown) => void,
  invoke = false
): number | undefined {
  if (isLocalEventName(event)) {
    const error = new InvalidActionError({
      message: `The "${event}" event is reserved and cannot be emitted on a server socket`
    })
    if (event !== "error") s.emitError(error)
    callback?.(error, undefined)
    return undefined
  }
  const packet: { event: string; data?: unknown; cid?: number } = { event }
  if (data !== undefined) packet.data = data
  if (callback !== undefined) {
    if (s.pendingAcks === undefined) s.pendingAcks = new Map()
    const pendingAcks = s.pendingAcks
    if (pendingAcks.size >= s.host.options.maxPendingOutboundAcks) {
      callback(
        new ResourceLimitError({
          message: `Too many pending acks (limit ${s.host.options.maxPendingOutboundAcks})`
        }),
        undefined
      )
      return undefined
    }
    const cid = s.cid++
    packet.cid = cid
    const timer = setTimeout(() => {
      pendingAcks.delete(cid)
      s.host.counters.ackTimeouts++
      callback(new TimeoutError({ message: `Event response for '${event}' timed out` }), packet)
    }, s.host.options.ackTimeout)
    pendingAcks.set(cid, { event, data, callback, timer, invoke })
  }
  sendObject(s, packet)
  return packet.cid
}

/** Forgets a pending ack (an interrupted `invoke`): its slot and timer are freed. */
export function cancelAck(s: SocketCore, cid: number): void {
  const pending = s.pendingAcks?.get(cid)
  if (pending === undefined) return
  clearTimeout(pending.timer)
  s.pendingAcks!.delete(cid)
}

// A closed socket answers nothing: every pending `invoke` fails now rather than at its timeout.
export function abortInvokes(s: SocketCore, type: "disconnect" | "connectAbort"): void {
  const pendingAcks = s.pendingAcks
  if (pendingAcks === undefined) return
  for (const [cid, pending] of pendingAcks) {
    if (!pending.invoke) continue
    clearTimeout(pending.timer)
    pendingAcks.delete(cid)
    pending.callback(
      new BadConnectionError({ message: `Event '${pending.event}' was aborted due to a bad connection`, type }),
      undefined
    )
  }
}

export function onResponse(s: SocketCore, rid: Cid, error: unknown, data: unknown): void {
  if (typeof rid !== "number") return
  const pending = s.pendingAcks?.get(rid)
  if (pending === undefined) return
  s.pendingAcks!.delete(rid)
  clearTimeout(pending.timer)
  if (error === undefined) return pending.callback(null, data)
  const hydrated = hydrate(error)
  pending.callback(pending.invoke ? ClientError.of(pending.event, hydrated) : hydrated, data)
}
