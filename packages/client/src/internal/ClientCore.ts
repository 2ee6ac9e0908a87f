/**
 * A client's state across connections (calls, channels, auth, receivers) and what it
 * does with each frame the server sends. Frame handling is synchronous: a frame changes
 * state and wakes the fibers waiting for it.
 */
import { BadConnectionError, type Cid, dehydrate, isFalsyCid } from "@effect-socketcluster/protocol"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import type { AuthTokenStore } from "../AuthTokenStore.js"
import { ConnectError } from "../ClientError.js"
import type { Disconnect, ResolvedOptions } from "../ClientOptions.js"
import type { AuthState, ConnectionState } from "../ConnectionState.js"
import { classifyServerPacket, type ServerPacket } from "../ServerPacket.js"
import { Calls } from "./Calls.js"
import { Channels } from "./Channels.js"
import type { Link } from "./Link.js"
import { Observable } from "./Observable.js"

/** Answers an invoke from the server (an emit with a cid). */
export type Procedure = (data: unknown) => Effect.Effect<unknown, unknown>

export type RunFork = <A, E>(effect: Effect.Effect<A, E>) => Fiber.Fiber<A, E>

/** The payload of a JWT, decoded without verification (the server verifies). */
export const decodeTokenPayload = (signedToken: string): unknown => {
  const part = signedToken.split(".")[1]
  if (part === undefined) return null
  try {
    const base64 = part.replace(/-/g, "+").replace(/_/g, "/")
    const binary = atob(base64.padEnd(base64.length + ((4 - (base64.length % 4)) % 4), "="))
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0))
    return JSON.parse(new TextDecoder().decode(bytes))
  } catch {
    return null
  }
}

const closeText = (data: unknown): string =>
  data === undefined || data === null ? "" : typeof data === "string" ? data : JSON.stringify(data)

export class ClientCore {
  readonly calls = new Calls()
  readonly channels = new Channels(this.calls)
  readonly state = new Observable<ConnectionState>({ _tag: "Connecting", attempt: 1 })
  readonly auth = new Observable<AuthState>({ _tag: "Unauthenticated" })
  /** Resolved on the first successful handshake, failed if the client gives up before. */
  readonly firstOpen = Deferred.makeUnsafe<void, ConnectError>()
  link: Link | undefined
  /** Set by `disconnect`/scope close: the end of the current connection is final. */
  closing = false
  private terminated: BadConnectionError | undefined
  private openSignal = Deferred.makeUnsafe<Link, BadConnectionError>()
  private readonly receivers = new Map<string, Set<Queue.Queue<unknown>>>()
  private readonly procedures = new Map<string, Procedure>()

  constructor(
    readonly url: string,
    readonly options: ResolvedOptions,
    readonly store: AuthTokenStore["Service"],
    readonly runFork: RunFork
  ) {}

  /** The open link, waiting for the (re)connection; fails once the client gave up. */
  readonly awaitLink: Effect.Effect<Link, BadConnectionError> = Effect.suspend(() =>
    this.link !== undefined
      ? Effect.succeed(this.link)
      : this.terminated !== undefined
        ? Effect.fail(this.terminated)
        : Deferred.await(this.openSignal)
  )

  opened(link: Link, state: Extract<ConnectionState, { _tag: "Open" }>): void {
    this.link = link
    this.state.set(state)
    Deferred.doneUnsafe(this.openSignal, Exit.succeed(link))
    Deferred.doneUnsafe(this.firstOpen, Exit.void)
    this.channels.opened(link)
  }

  /** The current connection ended; calls in flight fail with `BadConnectionError`. */
  closed(disconnect: Disconnect, reconnecting: boolean): void {
    this.link = undefined
    if (Deferred.isDoneUnsafe(this.openSignal)) this.openSignal = Deferred.makeUnsafe()
    this.channels.closed()
    this.calls.dropAll()
    this.state.set({ _tag: "Closed", code: disconnect.code, reason: disconnect.reason, reconnecting })
  }

  /** The client will not connect again. */
  terminate(disconnect: Disconnect & { readonly error?: ConnectError["cause"] }): void {
    this.terminated = new BadConnectionError({
      message: `The client is disconnected (${disconnect.code}${disconnect.reason === "" ? "" : `: ${disconnect.reason}`})`,
      type: "disconnect"
    })
    Deferred.doneUnsafe(this.openSignal, Exit.fail(this.terminated))
    Deferred.doneUnsafe(
      this.firstOpen,
      Exit.fail(
        new ConnectError({
          message: `Could not connect to ${this.url}: ${disconnect.code}${disconnect.reason === "" ? "" : ` ${disconnect.reason}`}`,
          code: disconnect.code,
          reason: disconnect.reason,
          cause: disconnect.error
        })
      )
    )
  }

  receiver(event: string, queue: Queue.Queue<unknown>): () => void {
    let set = this.receivers.get(event)
    if (set === undefined) {
      set = new Set()
      this.receivers.set(event, set)
    }
    set.add(queue)
    return () => {
      set.delete(queue)
      if (set.size === 0) this.receivers.delete(event)
    }
  }

  procedure(event: string, procedure: Procedure): () => void {
    this.procedures.set(event, procedure)
    return () => {
      if (this.procedures.get(event) === procedure) this.procedures.delete(event)
    }
  }

  setAuthenticated(signedToken: string): void {
    this.auth.set({ _tag: "Authenticated", signedToken, token: decodeTokenPayload(signedToken) })
  }

  setUnauthenticated(): void {
    if (this.auth.value._tag !== "Unauthenticated") this.auth.set({ _tag: "Unauthenticated" })
  }

  /** A v1 `#disconnect` packet, if one came, gives the code and reason of the close. */
  disconnectOf(link: Link, code: number, reason: string): Disconnect {
    const packet = link.disconnectPacket
    return packet === undefined || packet.code === undefined
      ? { code, reason }
      : { code: packet.code, reason: closeText(packet.data) }
  }

  onFrames(link: Link, frames: ReadonlyArray<string | Uint8Array>): void {
    for (const frame of frames) this.onFrame(link, frame)
  }

  /** Handles one frame of `link`: pongs a ping, dispatches packets. */
  onFrame(link: Link, frame: string | Uint8Array): void {
    if (link.protocolVersion === 2 && frame === "") return link.sendRaw("")
    let decoded: unknown
    try {
      decoded = link.codec.decode(frame)
    } catch {
      return
    }
    if (decoded === "#1") {
      if (link.protocolVersion === 1) link.sendRaw(link.codec.encode("#2") as string)
      return
    }
    if (Array.isArray(decoded)) {
      for (const element of decoded) this.onPacket(link, classifyServerPacket(element))
    } else {
      this.onPacket(link, classifyServerPacket(decoded))
    }
  }

  private respond(link: Link, cid: Cid | undefined, error: unknown, data?: unknown): void {
    if (isFalsyCid(cid)) return
    link.send(error === undefined ? { rid: cid, data } : { rid: cid, error })
  }

  private onPacket(link: Link, packet: ServerPacket): void {
    switch (packet._tag) {
      case "Response":
        return this.calls.answer(packet.rid, packet.error, packet.data)
      case "Publish":
        return this.channels.deliver(packet.channel, packet.data, packet.position)
      case "SetAuthToken": {
        this.setAuthenticated(packet.token)
        const cid = packet.cid
        this.runFork(
          Effect.andThen(
            this.store.save(packet.token),
            Effect.sync(() => this.respond(link, cid, undefined))
          )
        )
        return
      }
      case "RemoveAuthToken": {
        this.setUnauthenticated()
        const cid = packet.cid
        this.runFork(
          Effect.andThen(
            this.store.remove,
            Effect.sync(() => this.respond(link, cid, undefined))
          )
        )
        return
      }
      case "KickOut":
        return this.channels.kickOut(packet.channel, packet.message)
      case "Disconnect":
        link.disconnectPacket = { code: packet.code, data: packet.data }
        return
      case "Event":
        return this.onEvent(link, packet.event, packet.data, packet.cid)
      case "Raw":
        return
    }
  }

  private onEvent(link: Link, event: string, data: unknown, cid: Cid | undefined): void {
    const receivers = this.receivers.get(event)
    if (receivers !== undefined) for (const queue of receivers) Queue.offerUnsafe(queue, data)
    const procedure = this.procedures.get(event)
    // Without a procedure an invoke is left unanswered, as the official client does.
    if (procedure === undefined || isFalsyCid(cid)) return
    this.runFork(
      Effect.matchEffect(
        Effect.suspend(() => procedure(data)),
        {
          onFailure: (error) => Effect.sync(() => this.respond(link, cid, errorToWire(error))),
          onSuccess: (result) => Effect.sync(() => this.respond(link, cid, undefined, result))
        }
      )
    )
  }
}

/** A procedure's failure on the wire: sc-errors' form, keeping the name of any `Error`. */
const errorToWire = (error: unknown): unknown => {
  const wire = dehydrate(error)
  if (error instanceof Error && typeof wire === "object" && wire !== null && !("name" in wire)) {
    return { ...wire, name: error.name }
  }
  return wire
}
