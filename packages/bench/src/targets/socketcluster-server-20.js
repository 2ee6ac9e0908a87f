// Reference target: the latest socketcluster-server (20.0.1) with default options, plus
// the `echo` procedure the RPC scenario uses, written the way its README shows (async
// iterators). SC_PROTOCOL_VERSION picks the protocol: 1 (what socketcluster-client 14
// speaks; the default here) or 2 (its own default, clients 15–20).
import socketClusterServer from "socketcluster-server-20"

const port = Number(process.env.PORT ?? 8000)
const protocolVersion = Number(process.env.SC_PROTOCOL_VERSION ?? 1)

const agServer = socketClusterServer.listen(port, { protocolVersion }, () => {
  process.stdout.write(`socketcluster-server 20 (protocol ${protocolVersion}) listening on ${port}\n`)
})

const consume = async (stream, each) => {
  for await (const value of stream) each(value)
}

consume(agServer.listener("connection"), ({ socket }) => {
  consume(socket.procedure("echo"), (request) => request.end(request.data))
})
// Warnings (for example a client vanishing mid-handshake when a run ends) must not kill the target.
consume(agServer.listener("warning"), () => {})
consume(agServer.listener("error"), ({ error }) => {
  process.stderr.write(`socketcluster-server error: ${error}\n`)
})
