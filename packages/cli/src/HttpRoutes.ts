/**
 * The plain-HTTP side of the server, on the same port as the WebSocket endpoint: the demo
 * page, `/health` (200 `ready`, 503 `draining`) and `/metrics` (Prometheus text).
 */
import type * as Http from "node:http"
import type { Asset } from "./DemoAssets.js"

/** What the routes read. */
export interface RouteSources {
  readonly assets: () => ReadonlyMap<string, Asset>
  /** `true` once shutdown began. */
  readonly isDraining: () => boolean
  readonly renderMetrics: () => string
}

const send = (res: Http.ServerResponse, status: number, contentType: string, body: string | Buffer, head: boolean) => {
  res.writeHead(status, {
    "Content-Type": contentType,
    "Content-Length": Buffer.byteLength(body),
    "Cache-Control": "no-cache"
  })
  res.end(head ? undefined : body)
}

/** The `request` listener of the HTTP server. */
export const requestHandler =
  (sources: RouteSources) =>
  (req: Http.IncomingMessage, res: Http.ServerResponse): void => {
    const head = req.method === "HEAD"
    if (req.method !== "GET" && !head) {
      res.setHeader("Allow", "GET, HEAD")
      return send(res, 405, "text/plain; charset=utf-8", "Method Not Allowed\n", head)
    }
    const path = (req.url ?? "/").split("?")[0] ?? "/"
    if (path === "/health") {
      return sources.isDraining()
        ? send(res, 503, "text/plain; charset=utf-8", "draining\n", head)
        : send(res, 200, "text/plain; charset=utf-8", "ready\n", head)
    }
    if (path === "/metrics") {
      return send(res, 200, "text/plain; version=0.0.4; charset=utf-8", sources.renderMetrics(), head)
    }
    const asset = sources.assets().get(path)
    if (asset !== undefined) return send(res, 200, asset.contentType, asset.body, head)
    send(res, 404, "text/plain; charset=utf-8", "Not Found\n", head)
  }
