/**
 * What the RESP server's commands do (PING, ECHO, SET, GET, MGET, DEL, INCR, QUIT) against an
 * in-memory store: arguments in, a reply value out, no I/O. ./resp-server.ts serves them over
 * any stream; the bench's reference servers (bench/peers/resp-peers.ts) run the same code.
 */
import { RespError, type RespValue } from './resp.js';

/** The server's data: keys are compared as latin1 text so any bytes work as a key. */
export type RespStore = Map<string, Uint8Array>;

// One char per byte, so any bytes are a key. `fromCharCode.apply` is the fastest way for short
// keys; its argument count is bounded, so long ones take the (equally injective) decoder.
const latin1 = new TextDecoder('latin1');
const latin1Of = (b: Uint8Array): string =>
  b.length <= 4096 ? String.fromCharCode.apply(null, b as unknown as number[]) : latin1.decode(b);

const OK = 'OK';
const utf8 = new TextEncoder();
const wrongArgs = (name: string): RespError => new RespError(`ERR wrong number of arguments for '${name}' command`);

/** The command name of a request, lower-cased (`args[0]`). */
export function commandName(args: readonly Uint8Array[]): string {
  return latin1Of(args[0] ?? new Uint8Array(0)).toLowerCase();
}

/** One command (`name` from {@link commandName}) against `store`: its reply. */
export function execute(store: RespStore, name: string, args: readonly Uint8Array[]): RespValue {
  const argc = args.length - 1;
  const arg = (i: number): Uint8Array => args[i] as Uint8Array;
  switch (name) {
    case 'ping':
      if (argc > 1) return wrongArgs(name);
      return argc === 1 ? arg(1) : 'PONG';
    case 'echo':
      return argc === 1 ? arg(1) : wrongArgs(name);
    case 'set':
      if (argc !== 2) return wrongArgs(name);
      // A copy: the argument is a view into the received chunk, which it would keep alive.
      store.set(latin1Of(arg(1)), arg(2).slice());
      return OK;
    case 'get':
      return argc === 1 ? store.get(latin1Of(arg(1))) ?? null : wrongArgs(name);
    case 'mget':
      if (argc < 1) return wrongArgs(name);
      return args.slice(1).map((k) => store.get(latin1Of(k)) ?? null);
    case 'del': {
      if (argc < 1) return wrongArgs(name);
      let n = 0;
      for (let i = 1; i <= argc; i++) if (store.delete(latin1Of(arg(i)))) n++;
      return n;
    }
    case 'incr': {
      if (argc !== 1) return wrongArgs(name);
      const key = latin1Of(arg(1));
      const old = store.get(key);
      const current = old === undefined ? '0' : latin1Of(old);
      const n = /^-?\d{1,16}$/.test(current) ? Number(current) + 1 : NaN;
      if (!Number.isSafeInteger(n)) return new RespError('ERR value is not an integer or out of range');
      store.set(key, utf8.encode(String(n)));
      return n;
    }
    case 'quit':
      return OK;
    default:
      return new RespError(`ERR unknown command '${name.slice(0, 64)}'`);
  }
}
