/**
 * Summarises V8 `.cpuprofile` files (from `pnpm bench --cpu-prof`, in `.profiles/`): the
 * share of samples by package or file (self time) and the hottest functions, so two
 * targets' profiles of one scenario can be compared side by side.
 *
 *   pnpm tsx packages/bench/src/profile-summary.ts [--top 25] file.cpuprofile [...]
 */
import { readFileSync } from "node:fs"
import { basename } from "node:path"
import { parseArgs } from "node:util"

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly children?: ReadonlyArray<number>
}

interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
}

// Groups a script URL: our packages by package and file, node_modules by package, Node by module.
const groupOf = (url: string, functionName: string): string => {
  if (url === "") return functionName.startsWith("(") ? functionName : "(native)"
  const ours = /packages\/([^/]+)\/(?:dist|src)\/(.+?)\.[jt]s$/.exec(url)
  if (ours !== null) return `${ours[1]}/${ours[2]}`
  const modules = url.lastIndexOf("node_modules/")
  if (modules !== -1) {
    const rest = url.slice(modules + 13).split("/")
    const pkg = rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!
    const file = rest.slice(rest[0]!.startsWith("@") ? 2 : 1).join("/")
    return pkg === "effect" ? `effect/${file.replace(/^dist\//, "").replace(/\.js$/, "")}` : pkg
  }
  if (url.startsWith("node:")) return url
  return basename(url)
}

const { values, positionals } = parseArgs({
  options: { top: { type: "string", default: "25" } },
  allowPositionals: true
})
const top = Number(values.top)

for (const file of positionals) {
  const profile: Profile = JSON.parse(readFileSync(file, "utf8"))
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const selfSamples = new Map<number, number>()
  for (const id of profile.samples) selfSamples.set(id, (selfSamples.get(id) ?? 0) + 1)
  const total = profile.samples.length
  const idle = profile.nodes
    .filter((n) => n.callFrame.functionName === "(idle)")
    .reduce((sum, n) => sum + (selfSamples.get(n.id) ?? 0), 0)
  const busy = total - idle
  const groups = new Map<string, number>()
  const functions = new Map<string, number>()
  for (const [id, count] of selfSamples) {
    const node = byId.get(id)!
    const { functionName, url, lineNumber } = node.callFrame
    if (functionName === "(idle)") continue
    const group = groupOf(url, functionName)
    groups.set(group, (groups.get(group) ?? 0) + count)
    const key = `${functionName || "(anonymous)"} ${group}:${lineNumber + 1}`
    functions.set(key, (functions.get(key) ?? 0) + count)
  }
  const share = (count: number): string => `${((100 * count) / busy).toFixed(1).padStart(5)} %`
  const sorted = (map: Map<string, number>) => [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)
  process.stdout.write(`\n## ${basename(file)}: ${busy} busy samples (${((100 * idle) / total).toFixed(0)} % idle)\n`)
  process.stdout.write("\nself time by package / file:\n")
  for (const [group, count] of sorted(groups)) process.stdout.write(`${share(count)}  ${group}\n`)
  process.stdout.write("\nhottest functions (self time):\n")
  for (const [key, count] of sorted(functions)) process.stdout.write(`${share(count)}  ${key}\n`)
}
