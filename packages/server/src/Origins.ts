/**
 * The v14 `origins` rule (protocol §1.3): `*:*` admits everything; otherwise the Origin
 * header must match a `host:port`, `host:*` or `*:port` entry. Entries are compared
 * exactly (v14 did a substring search on the raw option string, which admitted
 * `example.com:80` for `myexample.com:80`).
 */

/** A compiled origins rule: `true` when the origin header may connect. */
export type OriginCheck = (originHeader: string | undefined) => boolean

/** Compiles the `origins` option once (the server calls the result per upgrade). */
export const compile = (origins: string): OriginCheck => {
  if (origins.includes("*:*")) return () => true
  const entries = new Set(origins.split(/[\s,]+/).filter((e) => e.length > 0))
  return (originHeader) => {
    // A missing header or the literal "null" is "*": only `*:*` admits it.
    if (originHeader === undefined || originHeader === "null" || originHeader === "") return false
    let url: URL
    try {
      url = new URL(originHeader)
    } catch {
      return false
    }
    const host = url.hostname
    const port = url.port !== "" ? url.port : url.protocol === "https:" ? "443" : "80"
    return entries.has(`${host}:${port}`) || entries.has(`${host}:*`) || entries.has(`*:${port}`)
  }
}

/** The text v14 puts in the 403 body and the warning (missing origins print as `*`). */
export const invalidOriginMessage = (originHeader: string | undefined): string =>
  `Failed to authorize socket handshake - Invalid origin: ${
    originHeader === undefined || originHeader === "null" || originHeader === "" ? "*" : originHeader
  }`
