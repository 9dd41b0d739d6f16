/**
 * The exported conformance suite over every driver. Memory pairs run with whole, byte-at-a-time
 * and seeded random chunking; the Node drivers (TCP, TLS, child-process pipes) run over real
 * loopback sockets and `cat` children. The web driver's runs are in web.test.ts.
 */
import { test } from './_support/harness.js';
import { runConformance, type TestFunction } from '../conformance/index.js';
import { memoryPair } from '../drivers/memory/index.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { PipeIOStream } from '../drivers/node/pipe.js';
import type { StreamOptions } from '../core/options.js';
import { tcpPair, tlsPair, withReceiveMode } from './_support/net-pair.js';

const SEED = process.env['SEED'] !== undefined ? Number(process.env['SEED']) : 20261125;
const run = test as unknown as TestFunction;
/** The drivers that also run the 64 MiB case of a write flushed at close to a slow reader. */
const BIG = { maxTransfer: 64 * 1024 * 1024 };

// ------------------------------------------------------------------ memory
for (const chunking of ['whole', 'byte', 'random'] as const) {
  const label = chunking === 'random' ? `memory/random seed=${SEED}` : `memory/${chunking}`;
  runConformance(run, {
    name: label,
    makePair: async (options) => memoryPair({ ...options, chunking, seed: SEED }),
    // One receive() per byte: 16 MiB each way would take minutes, not behaviour.
    capabilities: chunking === 'byte' ? { maxTransfer: 1 << 20 } : BIG,
  });
}

// Delivered through one reused receive buffer that is overwritten after each delivery
// (receiveTransient, what the Node socket drivers do with onread): a stream that kept a view of
// it instead of a copy fails here.
runConformance(run, {
  name: `memory/random/reused-receive seed=${SEED}`,
  makePair: async (options) => memoryPair({ ...options, chunking: 'random', seed: SEED, reuseReceiveBuffer: true }),
  capabilities: BIG,
});

// ------------------------------------------------------------------ Node drivers
// TCP and TLS: real loopback connections (test/_support/net-pair.ts). `tcp`: the client's
// socket reads into the process's one receive buffer (made with onread), the accepted one moves
// there at its first pending readInto; `tcp/eager`: the accepted one is adopted as it attaches
// (every read kind through the shared buffer on both sides); `tcp/data`: 'data' events only,
// the fallback of other runtimes.
runConformance(run, { name: 'tcp', makePair: (options) => tcpPair(options), capabilities: BIG });
runConformance(run, { name: 'tcp/eager', makePair: (options) => withReceiveMode('eager', () => tcpPair(options)) });
runConformance(run, { name: 'tcp/data', makePair: (options) => withReceiveMode('data', () => tcpPair(options)) });
runConformance(run, { name: 'tls', makePair: (options) => tlsPair(options), capabilities: BIG });

// Pipes: a pair is two `cat` children, one per direction, so both ends are real pipes:
// a → cat#1 stdin … cat#1 stdout → b, and b → cat#2 stdin … cat#2 stdout → a. Closing a ends
// cat#1's stdin, cat#1 exits, b sees EOF: the same clean-close semantics as a socket.
async function pipePair(options: StreamOptions = {}): Promise<[PipeIOStream, PipeIOStream]> {
  const spawnCat = (): ChildProcess => {
    const child = spawn('cat', [], { stdio: ['pipe', 'pipe', 'ignore'] });
    child.on('error', () => {}); // a spawn failure surfaces as the streams' close
    return child;
  };
  const ab = spawnCat();
  const ba = spawnCat();
  const a = PipeIOStream.fromStreams(ba.stdout ?? undefined, ab.stdin ?? undefined, options);
  const b = PipeIOStream.fromStreams(ab.stdout ?? undefined, ba.stdin ?? undefined, options);
  return [a, b];
}
runConformance(run, { name: 'pipe/cat', makePair: (options) => pipePair(options) });
