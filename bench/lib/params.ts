/** The parameters a measured child process receives (as one JSON argument) and what it reports. */
export type Workload = 'baseline' | 'w1' | 'w1into' | 'w2' | 'w2cb' | 'w2sub' | 'w2iter' | 'w2push' | 'w2each' | 'w3' | 'w4' | 'w4slow'
  | ClientWorkload;

/**
 * Workloads whose receiver connects to the sender (the sender listens): on Node the receiver
 * then creates its socket, so `onread` applies. `w1c`: W1 with the receive loop of `w1`,
 * `w1cinto`: with that of `w1into`.
 */
export type ClientWorkload = 'w1c' | 'w1cinto';

export const isClientWorkload = (w: Workload): w is ClientWorkload => w === 'w1c' || w === 'w1cinto';

export interface ChildParams {
  workload: Workload;
  /** W1: total bytes. W4: message size before the delimiter. */
  bytes: number;
  /** W2: lines. W3: round trips. */
  count: number;
  /** Set for senders: the receiver's port; for a receiver of a {@link ClientWorkload}: the sender's. */
  port?: number;
  /** Set for the sender of a {@link ClientWorkload}: listen, print `{"ready": port}`, send to who connects. */
  listen?: boolean;
}

/** What a receiver prints (one JSON line `{"result": ...}`) when its workload is done. */
export interface ChildResult {
  /** Wall seconds from accepting the connection to the last unit handled. */
  seconds: number;
  /** CPU seconds (user + system) the receiver spent over the same interval. */
  cpuSeconds: number;
  /** Peak resident set size of the whole process, bytes. */
  maxRss: number;
  /** Units handled (bytes, lines, round trips) — checked against what was sent. */
  units: number;
}

export const CHUNK = 65536;
export const MiB = 1024 * 1024;

/** Parses the single JSON argument every bench child takes. */
export function childParams(): ChildParams {
  const raw = process.argv[2];
  if (raw === undefined) throw new Error('expected one JSON argument');
  return JSON.parse(raw) as ChildParams;
}
