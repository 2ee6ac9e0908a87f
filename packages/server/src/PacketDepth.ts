/**
 * The nesting-depth guard for inbound packets (`maxPacketDepth`).
 *
 * `JSON.parse` builds a value nested ten million levels deep without complaint, but the
 * first recursive walk over it (`JSON.stringify` when a handler echoes it, `structuredClone`,
 * an application's own traversal) throws `RangeError: Maximum call stack size exceeded`
 * (Node 24: beyond ~4,460 levels for `JSON.stringify`, ~3,290 for `structuredClone`). The guard measures depth with an explicit stack, never the
 * call stack, so it cannot overflow however deep the value is.
 */

// Reused between calls (the server is single-threaded and the walk is synchronous): the
// common case allocates nothing.
const values: Array<unknown> = []
const depths: Array<number> = []

/**
 * Whether `value` nests objects/arrays more than `limit` levels deep (a top-level object
 * is depth 1; primitives are depth 0). Stops at the first level over the limit, so its
 * cost is bounded by the nodes above that level.
 *
 * @example
 * ```ts
 * exceedsDepth({ event: "x", data: { a: [1] } }, 3) // false: depth 3
 * exceedsDepth(JSON.parse("[[[[]]]]"), 3) // true: depth 4
 * ```
 */
export const exceedsDepth = (value: unknown, limit: number): boolean => {
  if (typeof value !== "object" || value === null) return false
  if (limit < 1) return true
  let top = 0
  values[0] = value
  depths[0] = 1
  let highest = 0
  let exceeded = false
  while (top >= 0) {
    const node = values[top] as object
    const depth = depths[top]!
    top--
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const child: unknown = node[i]
        if (typeof child === "object" && child !== null) {
          if (depth >= limit) {
            exceeded = true
            break
          }
          values[++top] = child
          depths[top] = depth + 1
        }
      }
    } else {
      for (const key in node) {
        const child: unknown = (node as Record<string, unknown>)[key]
        if (typeof child === "object" && child !== null) {
          if (depth >= limit) {
            exceeded = true
            break
          }
          values[++top] = child
          depths[top] = depth + 1
        }
      }
    }
    if (top > highest) highest = top
    if (exceeded) break
  }
  // Drop references so the guard never keeps a packet alive; keep a small stack's storage.
  if (highest > 1024) {
    values.length = 0
    depths.length = 0
  } else {
    for (let i = 0; i <= highest; i++) values[i] = undefined
  }
  return exceeded
}

/**
 * Whether a JSON text is too short to nest deeper than `limit` (each level costs at least
 * two characters), so the walk can be skipped for small frames.
 */
export const tooShortToExceed = (text: string, limit: number): boolean => text.length <= 2 * limit + 1
