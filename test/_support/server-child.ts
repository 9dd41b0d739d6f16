/**
 * Child process for the fd-exhaustion test of `TCPServer` (run under a low `ulimit -n`): an
 * echo server that prints `port N`, then `onError CODE` for every failure it reports, and
 * when its stdin ends `handled N` (connections that reached the handler), shuts down and exits.
 */
import { serve } from '../../drivers/node/server.js';

let handled = 0;
const server = await serve(async (stream) => {
  handled++;
  await stream.write(await stream.readUntil('\n', { maxBytes: 1024 }));
}, {
  onError: (err) => { process.stdout.write(`onError ${String((err as { code?: unknown }).code)}\n`); },
});
process.stdout.write(`port ${server.port}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  process.stdout.write(`handled ${handled}\n`);
  void server.shutdown({ timeout: 100 }).then(() => { process.stdin.destroy(); });
});
