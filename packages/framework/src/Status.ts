/** Per-minute rates over a sliding window (`worker.getStatus()`'s `httpRPM` and `wsRPM`). */
export class RateWindow {
  private count = 0
  private last = 0

  constructor(private readonly windowMs: number) {
    setInterval(() => {
      this.last = this.count
      this.count = 0
    }, windowMs).unref()
  }

  hit(): void {
    this.count++
  }

  get perMinute(): number {
    return (this.last * 60_000) / this.windowMs
  }
}
