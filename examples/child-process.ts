/**
 * Talking to child processes through PipeIOStream.fromChild:
 *  1. a line protocol with a small Node child (one request line → one answer line);
 *  2. `sort`, which answers only after its input ends: endWrite() half-closes stdin, then
 *     readUntilClose() collects everything up to the child's exit.
 * Run: node --import tsx examples/child-process.ts
 */
import { spawn } from 'node:child_process';
import { PipeIOStream } from 'sansio-iostream';

// The child: answers `ADD a b` with the sum, `UPPER text` in capitals, `QUIT` by exiting.
const CHILD = `
let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  buf += d;
  for (let i = buf.indexOf('\\n'); i >= 0; i = buf.indexOf('\\n')) {
    const [cmd, ...args] = buf.slice(0, i).split(' ');
    buf = buf.slice(i + 1);
    if (cmd === 'ADD') process.stdout.write(String(args.reduce((s, x) => s + Number(x), 0)) + '\\n');
    else if (cmd === 'UPPER') process.stdout.write(args.join(' ').toUpperCase() + '\\n');
    else if (cmd === 'QUIT') { process.stdout.write('bye\\n'); process.exit(0); }
    else process.stdout.write('ERR unknown command\\n');
  }
});`;

export async function lineProtocol(log: (s: string) => void = console.log): Promise<void> {
  const child = spawn(process.execPath, ['-e', CHILD], { stdio: ['pipe', 'pipe', 'inherit'] });
  const stream = PipeIOStream.fromChild(child);
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  for (const request of ['ADD 2 40', 'UPPER hello from the parent', 'PING', 'QUIT']) {
    log(`parent -> ${request}`);
    void stream.write(`${request}\n`);
    log(`parent <- ${(await stream.readUntil('\n', { maxBytes: 1024 })).toString().trimEnd()}`);
  }
  // After "bye" the child exited: its stdout ended, which is a clean close of the stream.
  const rest = await stream.readUntilClose();
  log(`child exited with code ${String(await exited)}; stream closed cleanly (${rest.length} bytes left, error=${String(stream.error)})`);
}

export async function sortDemo(log: (s: string) => void = console.log): Promise<void> {
  const child = spawn('sort', [], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, LC_ALL: 'C' } });
  const stream = PipeIOStream.fromChild(child);
  const words = ['pear', 'apple', 'fig', 'banana'];
  log(`parent -> sort: ${words.join(' ')}`);
  for (const w of words) void stream.write(`${w}\n`);
  await stream.endWrite(); // sort sees EOF on stdin, prints, exits
  const sorted = (await stream.readUntilClose()).toString().trimEnd().split('\n');
  log(`parent <- sort: ${sorted.join(' ')}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await lineProtocol();
  await sortDemo();
}
