/**
 * What `npm run test:runtimes` runs in headless Chromium: the common checks (conformance over
 * memory pairs and TransformStream pairs) from a bundle of the packed tarball's core, memory,
 * web and conformance entry points (build.ts). Events are kept in `window.__rtEvents`; the host
 * polls them, so a page that hangs still gives the results it got to.
 */
import { Suite, type RtEvent } from './mini-tape.js';
import { addCommonChecks } from './common.js';

const events: RtEvent[] = [];
(globalThis as { __rtEvents?: RtEvent[] }).__rtEvents = events;

const suite = new Suite((e) => { events.push(e); });
events.push({ type: 'runtime', runtime: 'chromium', version: (globalThis as { navigator?: { userAgent: string } }).navigator?.userAgent ?? 'unknown' });
addCommonChecks(suite);
suite.run().catch((err: unknown) => {
  events.push({ type: 'comment', check: '', text: `suite crashed: ${String(err)}` });
});
