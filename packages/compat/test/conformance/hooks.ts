/**
 * Preloaded (`node --import`) into the mocha process that runs a socketcluster-server
 * v14 suite. The suite file is loaded unchanged from its npm package; these resolve hooks
 * give it what it requires, as its own package's test setup would:
 *
 * - `require('../')` (the package under test) → `server.ts`, the compat facade (or, with
 *   `SC_CONFORMANCE_TARGET=original`, the original package, as an oracle);
 * - `socketcluster-client` → `client.ts`, the real client 14.3.2 with the suite's fixed
 *   ports mapped to the servers' free ports;
 * - `localStorage` → the polyfill the suite lists as a devDependency.
 */
import { createRequire, registerHooks } from "node:module"
import { pathToFileURL } from "node:url"

// socketcluster-client v14 prefers a global WebSocket over `ws`; Node >= 22 has one, the
// Node versions the suites were written for did not.
Reflect.deleteProperty(globalThis, "WebSocket")

const suiteFile = /\/socketcluster-server@14\.\d+\.\d+\/node_modules\/socketcluster-server\/test\/integration\.js$/
const here = (file: string): string => new URL(file, import.meta.url).href

const redirects: Record<string, string> = {
  "../": here("./server.ts"),
  "socketcluster-client": here("./client.ts"),
  localStorage: pathToFileURL(createRequire(import.meta.url).resolve("localStorage")).href
}

registerHooks({
  resolve(specifier, context, nextResolve) {
    const parent = context.parentURL
    const target = redirects[specifier]
    if (target !== undefined && parent !== undefined && suiteFile.test(parent)) {
      return { url: target, shortCircuit: true }
    }
    return nextResolve(specifier, context)
  }
})
