/**
 * What keeps the event loop alive, from `process.getActiveResourcesInfo()`: tests take a
 * snapshot before an operation and check that, once it settled, nothing is left above it (no
 * timer, no socket, no listener). Socket handles close asynchronously, so the check polls,
 * bounded.
 */

export type Resources = Map<string, number>;

export function resources(): Resources {
  const out: Resources = new Map();
  for (const r of process.getActiveResourcesInfo()) out.set(r, (out.get(r) ?? 0) + 1);
  return out;
}

/** The resources in `now` above `before`, as `Type×n` strings (empty when none). */
export function extraResources(before: Resources, now: Resources = resources()): string[] {
  const extra: string[] = [];
  for (const [type, n] of now) {
    const was = before.get(type) ?? 0;
    if (n > was) extra.push(`${type}×${n - was}`);
  }
  return extra;
}

/**
 * Polls (every 5 ms, up to `ms`) until nothing is active above `before`; returns what is
 * still extra then (empty on success). The polling timer itself has fired when each check runs.
 */
export async function leftOver(before: Resources, ms = 5000): Promise<string[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const extra = extraResources(before);
    if (extra.length === 0 || Date.now() > deadline) return extra;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** How many `Timeout` resources (ref'ed timers) are active. */
export function timers(): number {
  return resources().get('Timeout') ?? 0;
}
