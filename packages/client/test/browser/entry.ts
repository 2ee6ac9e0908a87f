/**
 * The page script of the browser test: the client bundled by esbuild, on the browser's
 * own WebSocket and localStorage. `window.runClient(url)` returns what it saw.
 */
import { Effect, Layer, Stream } from "effect"
import * as Socket from "effect/socket/Socket"
import { AuthTokenStore, SCClient } from "../../src/index.js"

const run = (url: string) =>
  Effect.gen(function* () {
    const client = yield* SCClient.connect(url, { reconnect: false })
    const echoed = yield* client.invoke("echo", { from: "the browser" })
    const news = yield* client.subscription("news")
    yield* client.publish("news", "from the page")
    const [publication] = yield* Stream.runCollect(Stream.take(news, 1))
    const refused = yield* Effect.flip(client.invoke("refuse"))
    yield* client.invoke("login", { username: "page" })
    const stored = localStorage.getItem("socketCluster.authToken")
    const whoami = yield* client.invoke("whoami")
    return { echoed, publication, refused: { name: refused.name, message: refused.message }, stored, whoami }
  }).pipe(
    Effect.scoped,
    Effect.provide(Layer.mergeAll(Socket.layerWebSocketConstructorGlobal, AuthTokenStore.layerLocalStorage()))
  )

/** The second page load: the stored token authenticates the new connection's handshake. */
const reconnect = (url: string) =>
  Effect.gen(function* () {
    const client = yield* SCClient.connect(url, { reconnect: false })
    const state = yield* client.currentState
    return { isAuthenticated: state._tag === "Open" && state.isAuthenticated, whoami: yield* client.invoke("whoami") }
  }).pipe(
    Effect.scoped,
    Effect.provide(Layer.mergeAll(Socket.layerWebSocketConstructorGlobal, AuthTokenStore.layerLocalStorage()))
  )

Reflect.set(globalThis, "runClient", (url: string) => Effect.runPromise(run(url)))
Reflect.set(globalThis, "reconnectClient", (url: string) => Effect.runPromise(reconnect(url)))
