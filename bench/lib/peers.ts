/**
 * Which receivers exist on this machine and how to start them. A peer that cannot start
 * (package missing, entry failed to build, no Tornado) is skipped with a printed reason.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { benchDir, buildEntries } from './build.js';

export type PeerName = 'ours' | 'raw' | 'floor' | 'readline' | 'promise-socket' | 'it-byte-stream' | 'tornado';

export interface PeerCommand { cmd: string; args: string[]; version?: string }

export interface Peers {
  available: Partial<Record<PeerName, PeerCommand>>;
  skipped: Partial<Record<PeerName, string>>;
  sender: string;
  w5: string | Error;
  w6Server: Record<'ours' | 'raw', string | Error>;
  w6Client: string;
}

const NODE_ENTRIES: Record<string, string> = {
  ours: 'peers/ours.ts',
  raw: 'peers/raw.ts',
  floor: 'peers/floor.ts',
  readline: 'peers/readline.ts',
  'promise-socket': 'peers/promise-socket.ts',
  'it-byte-stream': 'peers/it-byte-stream.ts',
  sender: 'sender.ts',
  w5: 'workloads/w5-core.ts',
  'w6-server': 'workloads/w6-server.ts',
  'w6-client': 'workloads/w6-client.ts',
};

/** Finds a Python with Tornado >= 6: `python3` on PATH may be a pyenv build without it. */
function findTornado(): PeerCommand | string {
  const tried: string[] = [];
  for (const py of [process.env.BENCH_PYTHON, '/usr/bin/python3', 'python3'].filter((x): x is string => !!x)) {
    const r = spawnSync(py, ['-c', 'import tornado, sys; print(tornado.version, sys.version.split()[0])'], { encoding: 'utf8', timeout: 10000 });
    if (r.status === 0) {
      const [tv, pv] = r.stdout.trim().split(' ');
      if (Number((tv ?? '0').split('.')[0]) >= 6) {
        return { cmd: py, args: [path.join(benchDir, 'peers', 'tornado_peer.py')], version: `Tornado ${String(tv)} on CPython ${String(pv)} (${py})` };
      }
      tried.push(`${py}: Tornado ${String(tv)} is older than 6`);
    } else {
      tried.push(`${py}: ${r.error ? r.error.message : 'no tornado module'}`);
    }
  }
  return `no Python with Tornado >= 6 (${tried.join('; ')})`;
}

function reason(e: Error): string {
  const m = e.message.split('\n').find((l) => /error|Could not resolve/i.test(l)) ?? e.message;
  return `failed to build: ${m.trim().slice(0, 200)}`;
}

export async function discoverPeers(): Promise<Peers> {
  const built = await buildEntries(NODE_ENTRIES);
  const must = (name: string): string => {
    const r = built[name];
    if (typeof r !== 'string') throw new Error(`bench entry ${name} ${reason(r as Error)}`);
    return r;
  };
  const peers: Peers = {
    available: {}, skipped: {},
    sender: must('sender'),
    w5: built.w5 as string | Error,
    w6Server: { ours: built['w6-server'] as string | Error, raw: built['w6-server'] as string | Error },
    w6Client: must('w6-client'),
  };
  for (const name of ['ours', 'raw', 'floor', 'readline', 'promise-socket', 'it-byte-stream'] as const) {
    const r = built[name];
    if (typeof r === 'string') peers.available[name] = { cmd: process.execPath, args: [r] };
    else peers.skipped[name] = reason(r as Error);
  }
  const t = findTornado();
  if (typeof t === 'string') peers.skipped.tornado = t;
  else peers.available.tornado = t;
  return peers;
}
