/**
 * Connections to the client port that are not (yet) welcomed chat sessions, counted per remote
 * address: HTTP requests in progress or kept alive, and WebSocket sessions before `welcome`.
 * One address may hold at most `maxPerAddress` of them, so that a client that opens
 * connections and never says hello (or sends headers slowly) cannot take every descriptor of
 * the node from everyone else.
 */
export class PendingConnections<C extends object> {
  readonly #maxPerAddress: number
  readonly #byAddress = new Map<string, number>()
  /** Each counted connection and the address it is counted under. */
  readonly #counted = new Map<C, string>()

  constructor(maxPerAddress: number) {
    this.#maxPerAddress = maxPerAddress
  }

  /** Counts a new connection from `address`; false (not counted) when the address is full. */
  admit(connection: C, address: string): boolean {
    const count = this.#byAddress.get(address) ?? 0
    if (count >= this.#maxPerAddress) return false
    this.#byAddress.set(address, count + 1)
    this.#counted.set(connection, address)
    return true
  }

  /** The connection was welcomed or closed: it no longer counts (a second call does nothing). */
  release(connection: C): void {
    const address = this.#counted.get(connection)
    if (address === undefined) return
    this.#counted.delete(connection)
    const count = (this.#byAddress.get(address) ?? 1) - 1
    if (count > 0) this.#byAddress.set(address, count)
    else this.#byAddress.delete(address)
  }

  /** How many connections `address` holds. */
  count(address: string): number {
    return this.#byAddress.get(address) ?? 0
  }
}
