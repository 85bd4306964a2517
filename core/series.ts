/**
 * Columnar samples over time, stored on change, and the clock they are taken on: what every
 * telemetry sampler (TCP's tcp_info, both QUIC engines) builds its series with.
 */

/**
 * CLOCK_MONOTONIC in ms (`process.hrtime`, libuv's uv_hrtime): the clock of the client's
 * `t0MonotonicNs` and of the link emulator's logs, shared by every network namespace.
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/**
 * One time column and named numeric columns. A row equal to the last stored one in every column is
 * not stored: a quiet source costs nothing, and a value holds until the next row.
 */
export class ChangeSeries<K extends string> {
  readonly t: number[] = [];
  readonly columns: Record<K, number[]>;
  private readonly keys: readonly K[];

  constructor(keys: readonly K[]) {
    this.keys = keys;
    this.columns = Object.fromEntries(keys.map((k) => [k, []])) as unknown as Record<K, number[]>;
  }

  /** Rows stored. */
  get length(): number {
    return this.t.length;
  }

  /** The last stored value of column `k` (undefined before the first row). */
  last(k: K): number | undefined {
    const col = this.columns[k];
    return col[col.length - 1];
  }

  /** Store `row` at time `t` unless it equals the last stored row; true when stored. */
  add(t: number, row: Readonly<Record<K, number>>): boolean {
    if (this.t.length > 0 && this.keys.every((k) => this.last(k) === row[k])) return false;
    this.t.push(t);
    for (const k of this.keys) this.columns[k].push(row[k]);
    return true;
  }
}
