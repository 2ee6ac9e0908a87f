// A chat server written for socketcluster-server@14: login with JWT auth, RPCs, rooms
// over pub/sub, middleware guarding all of it. The only line that differs from the
// socketcluster-server@14 version is the import:
//   import socketClusterServer from "socketcluster-server"
import { pathToFileURL } from "node:url"
import * as socketClusterServer from "@effect-socketcluster/compat"

const USERS = { alice: "alice-password", bob: "bob-password" }
const HISTORY_SIZE = 20

const appError = (name, message) => {
  const error = new Error(message)
  error.name = name
  return error
}

/** Starts the chat server on `port` (0 picks a free one); resolves once it is ready. */
export function startChatApp(port = Number(process.env.PORT ?? 8000)) {
  const scServer = socketClusterServer.listen(port, {
    authKey: process.env.AUTH_KEY ?? "chat-app-development-key-change-me",
    socketChannelLimit: 10
  })
  const history = {}

  // Every event but `login` needs a logged-in user.
  scServer.addMiddleware(scServer.MIDDLEWARE_EMIT, (req, next) => {
    if (req.event === "login" || req.socket.authToken) return next()
    next(appError("NotAuthenticatedError", "Log in first"))
  })

  // Rooms are "room:<name>"; only logged-in users may join.
  scServer.addMiddleware(scServer.MIDDLEWARE_SUBSCRIBE, (req, next) => {
    if (!req.channel.startsWith("room:")) return next(appError("UnknownChannelError", `No such room: ${req.channel}`))
    if (!req.socket.authToken) return next(appError("NotAuthenticatedError", "Log in first"))
    next()
  })

  // Messages are {text} of 1-500 characters; the server stamps the sender.
  scServer.addMiddleware(scServer.MIDDLEWARE_PUBLISH_IN, (req, next) => {
    const token = req.socket.authToken
    if (!token) return next(appError("NotAuthenticatedError", "Log in first"))
    const text = req.data?.text
    if (typeof text !== "string" || text.length === 0 || text.length > 500) {
      return next(appError("InvalidMessageError", "A message is {text} with 1 to 500 characters"))
    }
    if (/\bspam\b/i.test(text)) return next(true) // dropped silently
    req.data = { from: token.username, text }
    req.ackData = { accepted: true }
    next()
  })

  // Keep the last messages of every room somebody joined.
  scServer.on("subscription", (_socket, channel) => {
    if (history[channel]) return
    history[channel] = []
    scServer.exchange.subscribe(channel).watch((message) => {
      history[channel].push(message)
      if (history[channel].length > HISTORY_SIZE) history[channel].shift()
    })
  })

  scServer.on("connection", (socket) => {
    socket.on("login", (credentials, respond) => {
      const { username, password } = credentials || {}
      if (!USERS[username] || USERS[username] !== password) {
        return respond(appError("LoginFailedError", "Wrong username or password"))
      }
      socket.setAuthToken({ username })
      respond(null, { username })
    })

    socket.on("history", (room, respond) => respond(null, history[room] || []))

    socket.on("online", (_data, respond) => {
      const names = Object.values(scServer.clients)
        .filter((client) => client.authToken)
        .map((client) => client.authToken.username)
      respond(null, [...new Set(names)].sort())
    })

    socket.on("announce", (text, respond) => {
      scServer.exchange.publish(
        "room:lobby",
        { from: "server", text: `${socket.authToken.username}: ${text}` },
        respond
      )
    })

    socket.on("logout", (_data, respond) => {
      for (const channel of socket.subscriptions()) socket.kickOut(channel, "Logged out")
      socket.deauthenticate()
      respond()
    })
  })

  scServer.on("warning", () => {}) // middleware rejections and closed sockets are expected here

  return new Promise((resolve) => {
    if (scServer.isReady) resolve(scServer)
    else scServer.once("ready", () => resolve(scServer))
  })
}

// Run directly (PORT and AUTH_KEY from the environment): ./dev tsx packages/compat/examples/chat-app.js
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  startChatApp().then((scServer) => console.log(`chat app listening on port ${scServer.httpServer.address().port}`))
}
