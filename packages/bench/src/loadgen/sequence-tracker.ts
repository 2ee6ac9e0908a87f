/**
 * Checks one subscription's deliveries against the publisher's sequence numbers
 * (0, 1, 2, …) and tells lost, duplicated and reordered messages apart.
 *
 * A gap is remembered; a later arrival that fills it counts as reordered, any other
 * repeat as duplicated, and whatever gap is still open at the end (plus anything
 * never received after the last arrival) as lost.
 */
export class SequenceTracker {
  next = 0
  received = 0
  duplicated = 0
  reordered = 0
  private gaps: Set<number> | null = null

  accept(sequence: number): void {
    this.received++
    if (sequence === this.next) {
      this.next++
    } else if (sequence > this.next) {
      this.gaps ??= new Set()
      for (let missing = this.next; missing < sequence; missing++) this.gaps.add(missing)
      this.next = sequence + 1
    } else if (this.gaps?.delete(sequence) === true) {
      this.reordered++
    } else {
      this.duplicated++
    }
  }

  /** Messages not received, given that `published` were sent. */
  lost(published: number): number {
    return (this.gaps?.size ?? 0) + Math.max(0, published - this.next)
  }
}

/** Totals over every subscription of a scenario; any non-zero field fails the run. */
export interface Integrity {
  lost: number
  duplicated: number
  reordered: number
}

export const emptyIntegrity = (): Integrity => ({ lost: 0, duplicated: 0, reordered: 0 })

export const addTracker = (integrity: Integrity, tracker: SequenceTracker, published: number): void => {
  integrity.lost += tracker.lost(published)
  integrity.duplicated += tracker.duplicated
  integrity.reordered += tracker.reordered
}

export const isClean = (integrity: Integrity): boolean =>
  integrity.lost === 0 && integrity.duplicated === 0 && integrity.reordered === 0
