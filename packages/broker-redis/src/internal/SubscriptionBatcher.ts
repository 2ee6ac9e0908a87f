/**
 * Collects SUBSCRIBE / UNSUBSCRIBE requests made during one event-loop turn and sends
 * them as few commands as possible: consecutive requests of the same kind become one
 * command with many channels (a burst of 10,000 socket subscriptions is one round trip,
 * not 10,000). Runs keep their order, so subscribe-then-unsubscribe of a channel in the
 * same turn still ends unsubscribed.
 */

export type SubscriptionCommand = "subscribe" | "unsubscribe"

interface Request {
  readonly command: SubscriptionCommand
  readonly channel: string
  readonly onSuccess: () => void
  readonly onFailure: (error: unknown) => void
}

/** Redis accepts far more, but one giant command would hold the connection for a long time. */
const maxChannelsPerCommand = 5_000

export class SubscriptionBatcher {
  private queue: Array<Request> = []
  private scheduled: NodeJS.Immediate | undefined

  /** `send` issues one command for `channels` and settles when Redis confirmed every one. */
  constructor(
    private readonly send: (command: SubscriptionCommand, channels: ReadonlyArray<string>) => Promise<unknown>
  ) {}

  request(command: SubscriptionCommand, channel: string, onSuccess: () => void, onFailure: (e: unknown) => void): void {
    this.queue.push({ command, channel, onSuccess, onFailure })
    // setImmediate, not a microtask: fibers subscribing in the same turn resume over many microtasks.
    this.scheduled ??= setImmediate(this.flush)
  }

  /** Fails every queued request (the connection is being torn down). */
  close(error: unknown): void {
    if (this.scheduled !== undefined) clearImmediate(this.scheduled)
    this.scheduled = undefined
    const queue = this.queue
    this.queue = []
    for (const request of queue) request.onFailure(error)
  }

  private readonly flush = (): void => {
    this.scheduled = undefined
    const queue = this.queue
    this.queue = []
    let start = 0
    while (start < queue.length) {
      const command = queue[start]!.command
      const channels = new Set<string>()
      let end = start
      while (end < queue.length && queue[end]!.command === command && channels.size < maxChannelsPerCommand) {
        channels.add(queue[end]!.channel)
        end++
      }
      this.dispatch(command, [...channels], queue.slice(start, end))
      start = end
    }
  }

  private dispatch(command: SubscriptionCommand, channels: ReadonlyArray<string>, run: ReadonlyArray<Request>): void {
    let sent: Promise<unknown>
    try {
      sent = this.send(command, channels)
    } catch (error) {
      sent = Promise.reject(error)
    }
    sent.then(
      () => {
        for (const request of run) request.onSuccess()
      },
      (error: unknown) => {
        for (const request of run) request.onFailure(error)
      }
    )
  }
}
