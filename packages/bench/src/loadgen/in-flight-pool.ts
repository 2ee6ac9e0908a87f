/** Bounded concurrency for the load generator: handshakes, subscribes, unsubscribes. */

/** Runs `step(0)` … `step(count - 1)`, at most `inFlight` at a time (the next starts as one ends). */
export const inFlightPool = async (
  count: number,
  inFlight: number,
  step: (k: number) => Promise<unknown>
): Promise<void> => {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < count) await step(next++)
  }
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, worker))
}
