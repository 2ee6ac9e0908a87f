// Reference target: socketcluster-server 14.7.2 with default options (the in-process
// simple broker, allowClientPublish true), plus the `echo` handler the RPC scenario uses.
import socketClusterServer from "socketcluster-server"

const port = Number(process.env.PORT ?? 8000)

const agServer = socketClusterServer.listen(port, () => {
  process.stdout.write(`socketcluster-server listening on ${port}\n`)
})

agServer.on("connection", (socket) => {
  socket.on("echo", (data, respond) => respond(null, data))
})

// Warnings (for example a client vanishing mid-handshake when a run ends) must not kill the target.
agServer.on("warning", () => {})
agServer.on("error", (error) => {
  process.stderr.write(`socketcluster-server error: ${error}\n`)
})
