/** Why a target cannot run in this invocation. */
export interface Unavailable {
  readonly unavailable: string
}
