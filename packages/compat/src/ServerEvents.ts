/**
 * The core server's events as v14 `SCServer` events. v14 emits the handshake, connection,
 * abort, disconnection and closure events twice, first `_`-prefixed (the framework's own
 * listeners run first) and then plain.
 */
import type { EventEmitter } from "node:events"
import type { SCSocket as CoreSocket, Events } from "@effect-socketcluster/server"
import type { SCServerSocket } from "./SCServerSocket.js"

/** Emits on `server` the v14 event(s) of one core event, with the v14 socket `socketOf` gives. */
export const emitServerEvent = (
  server: EventEmitter,
  socketOf: (core: CoreSocket.SCSocket) => SCServerSocket,
  event: Events.ServerEvent
): void => {
  const emit = (name: string, ...args: ReadonlyArray<unknown>): void => {
    server.emit(name, ...args)
  }
  const emitTwice = (name: string, ...args: ReadonlyArray<unknown>): void => {
    server.emit(`_${name}`, ...args)
    server.emit(name, ...args)
  }
  switch (event._tag) {
    case "Ready":
      return
    case "Error":
      return emit("error", event.error)
    case "Warning":
      return emit("warning", event.error)
    case "Notice":
      return emit("notice", event.notice)
    case "Handshake":
      return emitTwice("handshake", socketOf(event.socket))
    case "Connection":
      return emitTwice("connection", socketOf(event.socket), event.status)
    case "ConnectionAbort":
      return emitTwice("connectionAbort", socketOf(event.socket), event.code, event.data)
    case "Disconnection":
      return emitTwice("disconnection", socketOf(event.socket), event.code, event.data)
    case "Closure":
      return emitTwice("closure", socketOf(event.socket), event.code, event.data)
    case "Subscription":
      return emit("subscription", socketOf(event.socket), event.channel, event.options)
    case "Unsubscription":
      return emit("unsubscription", socketOf(event.socket), event.channel)
    case "Authentication":
      return emit("authentication", socketOf(event.socket), event.authToken)
    case "Deauthentication":
      return emit("deauthentication", socketOf(event.socket), event.oldAuthToken)
    case "AuthenticationStateChange":
      return emit("authenticationStateChange", socketOf(event.socket), event.change)
    case "BadSocketAuthToken":
      return emit("badSocketAuthToken", socketOf(event.socket), event.info)
  }
}
