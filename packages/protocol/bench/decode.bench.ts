/**
 * Micro-benchmark of the inbound hot path (`json.decode` + `classify`) against bare
 * `JSON.parse`, and of `json.encode` for a publish with and without binary.
 * Run: `pnpm bench:protocol` (tsx). Not a test.
 */
import { cpus } from "node:os"
import { classify, json } from "../src/index.js"

const frames: Array<string> = []
for (let i = 0; i < 1000; i++) {
  const r = i % 20
  if (r < 10)
    frames.push(`{"event":"chat","data":{"room":"r${i % 7}","text":"hello number ${i}","n":${i}},"cid":${i + 2}}`)
  else if (r < 15)
    frames.push(
      `{"event":"#publish","data":{"channel":"ch${i % 13}","data":{"price":${i * 1.5},"sym":"ABC"}},"cid":${i + 2}}`
    )
  else if (r < 18) frames.push("#2")
  else frames.push(`{"event":"#subscribe","data":{"channel":"ch${i}","waitForAuth":true},"cid":${i + 2}}`)
}

const measure = (label: string, rounds: number, body: () => void, unitsPerRound: number, unit: string): void => {
  for (let i = 0; i < 20; i++) body()
  let best = Number.POSITIVE_INFINITY
  for (let run = 0; run < 5; run++) {
    const start = process.hrtime.bigint()
    for (let i = 0; i < rounds; i++) body()
    const ns = Number(process.hrtime.bigint() - start)
    best = Math.min(best, ns)
  }
  const perSecond = (rounds * unitsPerRound * 1e9) / best
  console.log(`${label.padEnd(44)} ${(perSecond / 1e6).toFixed(2).padStart(7)} M ${unit}/s`)
}

let sink = 0
measure(
  "JSON.parse (pongs skipped)",
  200,
  () => {
    for (const f of frames) if (f !== "#2") sink += JSON.parse(f) === null ? 1 : 0
  },
  frames.length,
  "frames"
)
measure(
  "json.decode + classify",
  200,
  () => {
    for (const f of frames) {
      const p = classify(json.decode(f))
      sink += Array.isArray(p) ? p.length : 1
    }
  },
  frames.length,
  "frames"
)

const publish = {
  event: "#publish",
  data: { channel: "prices", data: { sym: "ABC", price: 101.5, ts: 1795667178, tags: ["a", "b"] } }
}
const publishBinary = {
  event: "#publish",
  data: { channel: "prices", data: { sym: "ABC", blob: Buffer.from("0123456789abcdef") } }
}
measure(
  "JSON.stringify(publish)",
  200_000,
  () => {
    sink += JSON.stringify(publish).length
  },
  1,
  "encodes"
)
measure(
  "json.encode(publish)",
  200_000,
  () => {
    sink += json.encode(publish).length
  },
  1,
  "encodes"
)
measure(
  "json.encode(publish with Buffer)",
  200_000,
  () => {
    sink += json.encode(publishBinary).length
  },
  1,
  "encodes"
)
const replacer = (_k: string, v: unknown) => v
measure(
  "JSON.stringify(publish, replacer) (sc-formatter cost)",
  200_000,
  () => {
    sink += JSON.stringify(publish, replacer).length
  },
  1,
  "encodes"
)

const cpu = cpus()[0]?.model ?? "unknown CPU"
console.log(`\nNode ${process.version}, ${cpu} (${cpus().length} vCPU); best of 5 runs. sink=${sink % 10}`)
