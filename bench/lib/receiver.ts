/**
 * The measured side of a socket workload. A peer module calls {@link runReceiver} with its
 * handlers; this listens on 127.0.0.1, prints `{"ready": port}`, accepts one connection, times
 * the handler from accept to its last unit, and prints `{"result": ChildResult}`. For a
 * client workload (`w1c`, `w1cinto`) the handler connects to the sender's `port` itself (so
 * it creates the socket: Node's `onread` option applies) and is timed from that call.
 * Workload `baseline` reports the RSS of the idle process (the same code loaded, no work).
 */
import * as net from 'node:net';
import { childParams, isClientWorkload, type ChildParams, type ChildResult, type ClientWorkload, type Workload } from './params.js';

/** Runs one workload on an accepted socket; resolves with the units handled. */
export type Handler = (socket: net.Socket, params: ChildParams) => Promise<number>;
/** Runs one client workload: connects to 127.0.0.1:`port` and receives; resolves with the units. */
export type ClientHandler = (port: number, params: ChildParams) => Promise<number>;
export type Handlers = Partial<Record<Exclude<Workload, ClientWorkload>, Handler>> & Partial<Record<ClientWorkload, ClientHandler>>;

export function print(obj: unknown): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function finish(result: ChildResult): void {
  print({ result });
  // Exit once stdout is flushed; the sender's half of the socket may still be open.
  process.stdout.write('', () => process.exit(0));
}

export function runReceiver(handlers: Handlers): void {
  const params = childParams();
  if (params.workload === 'baseline') {
    finish({ seconds: 0, cpuSeconds: 0, maxRss: process.resourceUsage().maxRSS * 1024, units: 0 });
    return;
  }
  const handler = handlers[params.workload];
  if (handler === undefined) {
    print({ skip: `no ${params.workload} handler` });
    process.exit(0);
  }
  if (isClientWorkload(params.workload)) {
    print({ ready: 0 });
    timed(() => (handler as ClientHandler)(params.port as number, params));
    return;
  }
  const server = net.createServer({ noDelay: true });
  server.on('connection', (socket) => {
    server.close();
    timed(() => (handler as Handler)(socket, params), () => { socket.destroy(); });
  });
  server.listen(0, '127.0.0.1', () => {
    print({ ready: (server.address() as net.AddressInfo).port });
  });
}

/** Times `run` (wall and CPU) from now to its end, then prints the result and exits. */
function timed(run: () => Promise<number>, after?: () => void): void {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  run().then((units) => {
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    after?.();
    finish({ seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, maxRss: process.resourceUsage().maxRSS * 1024, units });
  }, (err: unknown) => {
    print({ error: String(err instanceof Error ? err.stack : err) });
    process.exit(1);
  });
}

/** Throws when a handler saw something other than what was sent (a broken peer must not look fast). */
export function expect(what: string, got: number, want: number): void {
  if (got !== want) throw new Error(`${what}: got ${got}, expected ${want}`);
}

/** W2's line tally for callback-style receivers: every line's bytes are checked at the last one. */
export class LineTally {
  lines = 0;
  private bytes = 0;

  constructor(private readonly want: number, private readonly done: (lines: number) => void) {}

  /** Counts `line`; after the last one checks the bytes and calls `done`. Returns whether more are due. */
  add(line: Uint8Array): boolean {
    this.bytes += line.length;
    if (++this.lines < this.want) return true;
    expect('line bytes', this.bytes, this.want * 34);
    this.done(this.lines);
    return false;
  }
}
