/**
 * The suites listen on fixed ports from 8008 up and connect their clients to the same
 * numbers. Here every server listens on a free port instead (tests of several engineers
 * and CI run side by side), and this table maps the suite's port to the real one.
 */
import type * as Http from "node:http"

const servers = new Map<number, Http.Server>()

/** Records that the suite's `port` is served by `httpServer`. */
export const register = (port: number, httpServer: Http.Server): void => {
  servers.set(port, httpServer)
}

/** The port a client asked for `port` must connect to. */
export const actualPort = (port: number): number => {
  const address = servers.get(port)?.address()
  return typeof address === "object" && address !== null ? address.port : port
}
