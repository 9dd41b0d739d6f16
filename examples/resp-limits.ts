/**
 * The RESP server's limits (./resp-server.ts), in one place: what one request may declare and
 * what all connections together may hold in bulk arguments that have not all arrived yet.
 *
 * Every breach gets an error reply before the connection closes, as Redis does: `-ERR Protocol
 * error: ...` with Redis's own wording for the per-request limits, `-OOM ...` for the
 * server-wide one (see {@link RespBudget}). `listenResp` gives each stream a `maxBufferSize`
 * that fits `maxBulk` (see {@link respStreamBufferSize}); over a stream of your own, give it
 * at least that much, or a bulk the limits accept fails the stream's read instead (the
 * connection then closes with `StreamBufferFullError` and no reply).
 */

/** What one request may declare, and what pending bulks may hold across connections. */
export interface RespLimits {
  /**
   * Longest line in bytes, its line end included: an inline command, or a `*n` / `$n` header
   * (also one that has not ended yet). Default 64 KiB, Redis's `PROTO_INLINE_MAX_SIZE`.
   * Over it: `-ERR Protocol error: too big inline request` (or `too big mbulk count string`,
   * `too big bulk count string` for a header), whatever the chunking.
   */
  maxLine: number;
  /**
   * Longest bulk argument (`$n`) in bytes. Default 64 MiB, not Redis's 512 MiB
   * (`proto-max-bulk-len`): one complete bulk briefly costs about three times its size here
   * (the stream's chunks, the read's result, the request buffer it is joined into) plus the
   * stored copy, and 64 MiB stays under the streams' default `maxBufferSize` (100 MiB), so
   * `serveResp` over a stream with default options takes every bulk the limits accept.
   * Over it: `-ERR Protocol error: invalid bulk length`.
   */
  maxBulk: number;
  /**
   * Most arguments in one request (`*n`). Default 1024 * 1024, the limit Redis had until 6.x.
   * Over it: `-ERR Protocol error: invalid multibulk length`.
   */
  maxArgs: number;
  /**
   * Most bytes the pending bulk arguments of all connections sharing a {@link RespBudget}
   * may hold (a bulk counts with its declared length and CRLF from the moment the server
   * waits for its rest until it has come or the connection ends). Default 256 MiB: four bulks
   * of the default `maxBulk` at once. The limit of the budget `listenResp` creates, and of the
   * one `serveResp` creates when given none.
   */
  maxPendingBulkBytes: number;
}

/** The default {@link RespLimits}. */
export const DEFAULT_RESP_LIMITS: Readonly<RespLimits> = Object.freeze({
  maxLine: 64 * 1024,
  maxBulk: 64 * 1024 * 1024,
  maxArgs: 1024 * 1024,
  maxPendingBulkBytes: 256 * 1024 * 1024,
});

const LIMIT_NAMES = ['maxLine', 'maxBulk', 'maxArgs', 'maxPendingBulkBytes'] as const;

/**
 * `overrides` over {@link DEFAULT_RESP_LIMITS}, checked: each given limit must be a safe
 * integer, at least 1 for `maxLine` and `maxArgs` and at least 0 for the others (`TypeError`
 * for a non-number, `RangeError` otherwise).
 */
export function respLimits(overrides: Partial<RespLimits> = {}): RespLimits {
  if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides)) {
    throw new TypeError(`limits must be an object, got ${overrides === null ? 'null' : typeof overrides}`);
  }
  const limits: RespLimits = { ...DEFAULT_RESP_LIMITS };
  for (const name of LIMIT_NAMES) {
    const value: unknown = overrides[name];
    if (value === undefined) continue;
    if (typeof value !== 'number') throw new TypeError(`limits.${name} must be a number, got ${typeof value}`);
    const least = name === 'maxLine' || name === 'maxArgs' ? 1 : 0;
    if (!Number.isSafeInteger(value) || value < least) {
      throw new RangeError(`limits.${name} must be an integer >= ${least}, got ${value}`);
    }
    limits[name] = value;
  }
  return limits;
}

/**
 * The `maxBufferSize` a stream needs for the server to read every bulk `limits` accept: the
 * rest of a bulk is one `readBytes(rest)`, up to `maxBulk` + 2 bytes (its CRLF). At least
 * 64 KiB (a stream's default `readChunkSize`), so a small `maxBulk` does not shrink the reads.
 */
export function respStreamBufferSize(limits: Pick<RespLimits, 'maxBulk'>): number {
  return Math.max(limits.maxBulk + 2, 64 * 1024);
}

/**
 * The bytes that pending bulk arguments hold, across every connection given this budget, and
 * the most they may hold. A connection reserves a bulk's declared size (CRLF included) when
 * it starts waiting for the rest of it, and gives it back when the bulk has come or the
 * connection ends in any way (QUIT, an error reply, the client's close or reset, a close by
 * the server). A reservation that would pass `limit` is refused: that connection gets
 * {@link RESP_BUDGET_REPLY} and is closed, the others go on.
 *
 * It counts the declared size, not what has arrived, so the check is made once, before the
 * server holds any of the bytes, and a client cannot grow past it piece by piece.
 */
export class RespBudget {
  private heldBytes = 0;

  /**
   * @param limit - the most bytes pending bulks may hold together (a safe integer >= 0)
   */
  constructor(readonly limit: number = DEFAULT_RESP_LIMITS.maxPendingBulkBytes) {
    if (typeof limit !== 'number') throw new TypeError(`limit must be a number, got ${typeof limit}`);
    if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`limit must be an integer >= 0, got ${limit}`);
  }

  /** Bytes reserved now by pending bulks. */
  get held(): number {
    return this.heldBytes;
  }

  /** Reserves `n` bytes: `false` (and nothing reserved) when that would pass `limit`. */
  reserve(n: number): boolean {
    if (this.heldBytes + n > this.limit) return false;
    this.heldBytes += n;
    return true;
  }

  /** Gives back `n` bytes reserved before. */
  release(n: number): void {
    this.heldBytes -= n;
  }
}

/**
 * The reply to a connection whose bulk would take its {@link RespBudget} past the limit, sent
 * before it is closed. `OOM`, not `ERR Protocol error`: the request is well formed and the
 * server is short of room, which is what Redis's `-OOM` (over `maxmemory`) tells a client
 * (clients map it to their out-of-memory error), so retrying later may work. Unlike Redis's
 * OOM the connection does not stay open: the bulk's bytes are on their way and the server
 * will not hold them.
 */
export const RESP_BUDGET_REPLY = "OOM pending bulk arguments over the server's limit (maxPendingBulkBytes), closing the connection";
