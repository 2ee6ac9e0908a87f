/**
 * component-emitter 1.2 semantics (what v14's server sockets and channels inherit): no
 * special `error` event, `off()` without arguments removes everything, listeners run
 * synchronously in registration order on a copy of the list.
 */

/**
 * A listener of any arity. Declared through a method so its parameters are bivariant:
 * `(code: number, reason: string) => void` is accepted, and unannotated parameters are `unknown`.
 */
export type Listener = { listener(...args: Array<unknown>): void }["listener"]

/**
 * A component-emitter. Subclasses that repurpose `emit` (server sockets send to the
 * client) fire their local listeners with `emitLocal`.
 */
export class Emitter {
  private readonly callbacks = new Map<string, Array<Listener>>()

  on(event: string, fn: Listener): this {
    const list = this.callbacks.get(event)
    if (list === undefined) this.callbacks.set(event, [fn])
    else list.push(fn)
    return this
  }

  addEventListener(event: string, fn: Listener): this {
    return this.on(event, fn)
  }

  once(event: string, fn: Listener): this {
    const wrapper: Listener & { fn?: Listener } = (...args: Array<unknown>) => {
      this.off(event, wrapper)
      Reflect.apply(fn, this, args)
    }
    wrapper.fn = fn
    return this.on(event, wrapper)
  }

  /** Removes `fn` from `event`, every listener of `event`, or every listener (no arguments). */
  off(event?: string, fn?: Listener): this {
    if (event === undefined) {
      this.callbacks.clear()
      return this
    }
    if (fn === undefined) {
      this.callbacks.delete(event)
      return this
    }
    const list = this.callbacks.get(event)
    if (list === undefined) return this
    const i = list.findIndex((cb) => cb === fn || (cb as { fn?: Listener }).fn === fn)
    if (i >= 0) list.splice(i, 1)
    if (list.length === 0) this.callbacks.delete(event)
    return this
  }

  removeListener(event?: string, fn?: Listener): this {
    return this.off(event, fn)
  }

  removeAllListeners(event?: string): this {
    return this.off(event)
  }

  removeEventListener(event?: string, fn?: Listener): this {
    return this.off(event, fn)
  }

  listeners(event: string): Array<Listener> {
    return this.callbacks.get(event)?.slice() ?? []
  }

  hasListeners(event: string): boolean {
    return (this.callbacks.get(event)?.length ?? 0) > 0
  }

  /** Calls the listeners of `event` (component-emitter's `emit`). */
  emit(event: string, ...args: Array<unknown>): void {
    this.emitLocal(event, ...args)
  }

  /** Calls the local listeners of `event`. */
  emitLocal(event: string, ...args: Array<unknown>): void {
    const list = this.callbacks.get(event)
    if (list === undefined) return
    for (const fn of list.slice()) Reflect.apply(fn, this, args)
  }
}
