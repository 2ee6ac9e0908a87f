/**
 * What a suite gets for `require('socketcluster-client')`: the real client 14.3.2, whose
 * `connect`/`create` reach the free port behind the suite's port number (`ports.ts`).
 */
import { createRequire } from "node:module"
import { actualPort } from "./ports.js"

interface ClientOptions {
  readonly port?: number
}
interface ClientModule {
  connect(options: ClientOptions): unknown
  create(options: ClientOptions): unknown
  readonly [key: string]: unknown
}

const client: ClientModule = createRequire(import.meta.url)("socketcluster-client")

const mapped = (options: ClientOptions): ClientOptions =>
  options.port === undefined ? options : { ...options, port: actualPort(options.port) }

export const connect = (options: ClientOptions) => client.connect(mapped(options))
export const create = (options: ClientOptions) => client.create(mapped(options))
export const { version, SCClientSocket, destroy, clients } = client
