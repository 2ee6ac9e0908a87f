/**
 * The files of the demo page, read once at start-up: the page itself (`public/`) and the
 * real socketcluster-client v14 browser bundle from node_modules (no CDN).
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"

/** A file served as is. */
export interface Asset {
  readonly contentType: string
  readonly body: Buffer
}

const publicFile = (name: string, contentType: string): Asset => ({
  contentType,
  body: readFileSync(new URL(`../public/${name}`, import.meta.url))
})

/** Where the v14 browser bundle lives (it defines the `socketCluster` global). */
export const clientBundlePath = (): string =>
  createRequire(import.meta.url).resolve("socketcluster-client/socketcluster.min.js")

/** Every demo asset by URL path; the page connects to `scPath`. */
export const load = (scPath: string): ReadonlyMap<string, Asset> => {
  const page = publicFile("index.html", "text/html; charset=utf-8")
  const html = page.body.toString("utf8").replace("{{SC_PATH}}", encodeURI(scPath))
  return new Map([
    ["/", { contentType: page.contentType, body: Buffer.from(html) }],
    ["/demo.css", publicFile("demo.css", "text/css; charset=utf-8")],
    ["/demo.js", publicFile("demo.js", "text/javascript; charset=utf-8")],
    ["/socketcluster.js", { contentType: "text/javascript; charset=utf-8", body: readFileSync(clientBundlePath()) }]
  ])
}
