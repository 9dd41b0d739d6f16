/**
 * Which case each group's ratios are taken against ("the limit"), and the RESP groups
 * (filled by `resp.ts`, judged by `targets.ts`): plain data, imported by the report, the
 * targets and the RESP runner alike.
 */

/** Every group `resp.ts` fills: rps groups, and each with `-p50` for the latency rows. */
export const RESP_GROUPS: readonly string[] = ['RESP-SET', 'RESP-GET', 'RESP-P16-SET', 'RESP-P16-GET', 'RESP-PING_INLINE', 'RESP-PING_MBULK']
  .flatMap((g) => [g, `${g}-p50`]);

/**
 * The rps targets: ≥ 0.7× redis-server without pipelining, ≥ 0.5× with -P 16. For SET and GET
 * `raw` bounds what the example (one read per chunk, parsed in place) can reach; the floors
 * show what reading each RESP element with a promise or a callback would cost.
 */
export const RESP_TARGETS: readonly { group: string; min: number; bound?: string }[] = [
  { group: 'RESP-SET', min: 0.7, bound: 'RESP-SET/raw' }, { group: 'RESP-GET', min: 0.7, bound: 'RESP-GET/raw' },
  { group: 'RESP-PING_INLINE', min: 0.7 }, { group: 'RESP-PING_MBULK', min: 0.7 },
  { group: 'RESP-P16-SET', min: 0.5, bound: 'RESP-P16-SET/raw' },
  { group: 'RESP-P16-GET', min: 0.5, bound: 'RESP-P16-GET/raw' },
];

/** The case a group's ratios are taken against ("the limit"). */
export const LIMIT: Record<string, string> = {
  'W1': 'W1/raw-onread', 'W1-client': 'W1-client/raw-onread', 'W2': 'W2/raw', 'W3': 'W3/raw', 'W4-small': 'W4-small/raw', 'W4-big': 'W4-big/raw',
  'W4-slow': 'W4-slow/raw', 'W5-W1': 'W5-W1/indexOf loop', 'W5-W2': 'W5-W2/indexOf loop',
  'W5-W4-small': 'W5-W4-small/indexOf loop', 'W5-W4-big': 'W5-W4-big/indexOf loop',
};
// The redis-benchmark groups (lib/resp.ts) are measured against a real redis-server.
for (const g of RESP_GROUPS) LIMIT[g] = `${g}/redis-server`;
