/**
 * Which broker holds a channel or a key chain: v14's sc-hasher, so an app sharded by the
 * original lands its keys on the same broker ids (spec framework.md §6.7).
 */

/** The broker index (0…n−1) of `key` among `n` brokers. */
export const hash = (key: unknown, n: number): number => {
  if (n <= 1) return 0
  if (typeof key === "number") return Math.abs(key) % n
  if (Array.isArray(key)) return hash(key[0], n)
  let text: string | undefined
  if (typeof key === "string") text = key
  else {
    try {
      text = JSON.stringify(key)
    } catch {
      text = undefined
    }
  }
  if (text === undefined || text.length === 0) return 0
  let h = 0
  for (let i = 0; i < text.length; i++) h = (Math.imul(h, 31) + text.charCodeAt(i)) | 0
  return Math.abs(h) % n
}
