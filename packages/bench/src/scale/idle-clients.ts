/**
 * One load process of the scale run (`scale.ts` forks several, each with its own
 * descriptor budget and loopback source address): says `up`, and on `go` opens `count`
 * SocketCluster connections from `address` (source ports from `firstSourcePort` up, see
 * `Source`), reports `{ count, seconds, cpu }` (its own CPU over the ramp, µs) to the parent, then keeps
 * them idle (answering pings) until asked how many are still open or told to close.
 *
 *   idle-clients.ts PORT PATH COUNT ADDRESS PROTOCOL CONCURRENCY
 */
import { openClients } from "../loadgen/sc-client.js"

const [port, path, count, address, protocol, concurrency] = process.argv.slice(2)
// Below the kernel's ephemeral range (32768–60999 here), so no kernel-chosen port on the
// same address collides; COUNT stays under the descriptor limit (20,000), far below 65,535.
const firstSourcePort = 10000
const send = (message: object): void => {
  process.send?.(message)
}

// Connects on "go", so that process start-up stays out of the parent's handshake timing.
const connect = (): void => {
  const started = performance.now()
  const cpuBefore = process.cpuUsage()
  openClients(Number(port), path!, Number(count), Number(concurrency), protocol === "2" ? 2 : 1, {
    address: address!,
    port: firstSourcePort
  }).then(
    (clients) => {
      const cpu = process.cpuUsage(cpuBefore)
      send({
        type: "ready",
        count: clients.length,
        seconds: (performance.now() - started) / 1000,
        cpu: cpu.user + cpu.system
      })
      process.on("message", (message: unknown) => {
        if (message === "open") send({ type: "open", open: clients.filter((c) => !c.connection.closed).length })
        if (message === "close") {
          for (const client of clients) client.close()
          process.exit(0)
        }
      })
    },
    (error: unknown) => {
      send({ type: "failed", error: String(error) })
      process.exit(1)
    }
  )
}
process.once("message", (message: unknown) => {
  if (message === "go") connect()
})
send({ type: "up", up: 1 })
process.on("disconnect", () => process.exit(0))
