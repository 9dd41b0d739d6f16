/** Collected figures, the printed table, the target verdicts and the JSON written to results/. */
import { LIMIT } from './groups.js';
import { MiB } from './params.js';
import { fmt, summarize, type Summary } from './stats.js';
import type { Query, Target } from './targets.js';

export interface Row {
  id: string;
  group: string;
  label: string;
  peer: string;
  unit: string;
  lower: boolean;
  values: number[];
  rssAbove: number[];
  skip?: string;
  errors: string[];
}

export interface Verdict { id: string; text: string; value: number | undefined; limit: string; status: 'pass' | 'MISS' | 'n/a'; why?: string; reference?: true }

export class Results implements Query {
  readonly rows = new Map<string, Row>();

  row(id: string, init: Omit<Row, 'values' | 'rssAbove' | 'errors' | 'id'>): Row {
    let r = this.rows.get(id);
    if (r === undefined) {
      r = { id, ...init, values: [], rssAbove: [], errors: [] };
      this.rows.set(id, r);
    }
    return r;
  }

  summary(id: string): Summary | undefined {
    const r = this.rows.get(id);
    return r === undefined || r.values.length === 0 ? undefined : summarize(r.values);
  }

  median(id: string): number | undefined { return this.summary(id)?.median; }

  rssAbove(id: string): number | undefined {
    const r = this.rows.get(id);
    return r === undefined || r.rssAbove.length === 0 ? undefined : summarize(r.rssAbove).median;
  }

  /**
   * Adds row `id` whose run i is the best of run i of each of `ids` (rounds are interleaved, so
   * the runs with one index were measured together): e.g. Tornado's best of read_bytes and
   * read_into. Nothing is added when none of them ran.
   */
  deriveBest(id: string, ids: readonly string[]): void {
    const rows = ids.map((x) => this.rows.get(x)).filter((r): r is Row => r !== undefined && r.values.length > 0);
    const first = rows[0];
    if (first === undefined) return;
    const row = this.row(id, { group: first.group, label: first.label, peer: first.peer, unit: first.unit, lower: first.lower });
    const runs = Math.max(...rows.map((r) => r.values.length));
    for (let i = 0; i < runs; i++) {
      const vals = rows.map((r) => r.values[i]).filter((v): v is number => v !== undefined);
      row.values.push(first.lower ? Math.min(...vals) : Math.max(...vals));
    }
  }

  /** The row the ×Tornado column of `group` compares with: Tornado's best where derived. */
  tornadoOf(group: string): string | undefined {
    for (const id of [`${group}/tornado-best`, `${group}/tornado`]) if (this.rows.has(id)) return id;
    return undefined;
  }

  /** How much better `a` is than `b` (≥ 1: better), from medians. */
  goodness(a: string, b: string): number | undefined {
    const x = this.median(a);
    const y = this.median(b);
    const lower = this.rows.get(a)?.lower ?? false;
    if (x === undefined || y === undefined || x === 0 || y === 0) return undefined;
    return lower ? y / x : x / y;
  }

  judge(ts: readonly Target[]): Verdict[] {
    return ts.map((t): Verdict => (t.reference ? { ...this.judgeOne(t), reference: true } : this.judgeOne(t)));
  }

  private judgeOne(t: Target): Verdict {
    if (t.kind === 'ratio') {
      const v = this.goodness(t.a, t.b);
      const limit = `${t.strict ? '>' : '≥'} ${t.min}`;
      if (v === undefined) return { id: t.id, text: t.text, value: v, limit, ...this.missing([t.a, t.b]) };
      const ok = t.strict ? v > t.min : v >= t.min;
      if (ok || t.bound === undefined) return { id: t.id, text: t.text, value: v, limit, status: ok ? 'pass' : 'MISS' };
      const cap = this.goodness(t.bound, t.b);
      const name = t.bound.split('/')[1] ?? t.bound;
      // The bound only proves the target out of reach when it is really above us in this run;
      // a "floor" that ran slower than we did bounds nothing (its run was noisier, or it is no floor).
      const why = cap === undefined || !(t.strict ? cap <= t.min : cap < t.min) ? undefined
        : cap >= v ? `unreachable here: ${name} itself is ${cap.toFixed(2)}`
          : `${name} misses too (${cap.toFixed(2)}) but ran slower than us: no proof`;
      return { id: t.id, text: t.text, value: v, limit, status: 'MISS', ...(why !== undefined ? { why } : {}) };
    }
    const v = t.value(this);
    const limit = `≤ ${t.max} ${t.unit}`;
    if (v === undefined) return { id: t.id, text: t.text, value: v, limit, ...this.missing(t.uses) };
    return { id: t.id, text: t.text, value: v, limit, status: v <= t.max ? 'pass' : 'MISS' };
  }

  /** A target without data: n/a when a peer was absent, a miss when our side failed. */
  private missing(ids: string[]): { status: 'MISS' | 'n/a'; why: string } {
    for (const id of ids) {
      const r = this.rows.get(id);
      if (r === undefined) return { status: 'n/a', why: `${id} not run` };
      if (r.values.length > 0) continue;
      if (r.skip !== undefined && !id.includes('/ours')) return { status: 'n/a', why: `${id} skipped: ${r.skip}` };
      return { status: 'MISS', why: `${id}: ${r.skip ?? r.errors[0] ?? 'no data'}` };
    }
    return { status: 'MISS', why: 'no data' };
  }
}

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

/** The results table: one block per group, ratios against the group's limit and against Tornado. */
export function table(res: Results): string {
  const lines: string[] = [];
  const head = `${pad('peer', 22)} ${pad('median', 9, true)} ${pad('min–max', 19, true)} ${pad('unit', 8)} ${pad('×limit', 7, true)} ${pad('×Tornado', 8, true)} ${pad('RSS+MiB', 8, true)} ${pad('n', 2, true)}`;
  let group = '';
  // By group, in the order groups first appear (a derived row, added last, joins its group).
  const order = [...new Set([...res.rows.values()].map((r) => r.group))];
  const rows = [...res.rows.values()].sort((x, y) => order.indexOf(x.group) - order.indexOf(y.group));
  for (const r of rows) {
    if (r.group !== group) {
      group = r.group;
      lines.push('', `${r.label}`, head);
    }
    const s = res.summary(r.id);
    const name = r.id.slice(r.group.length + 1);
    if (s === undefined) {
      lines.push(`${pad(name, 22)} ${r.skip !== undefined ? `skipped: ${r.skip}` : `FAILED: ${r.errors[0] ?? '?'}`}`.slice(0, 200));
      continue;
    }
    const limit = LIMIT[r.group] ?? `${r.group}/raw`;
    const xl = res.goodness(r.id, limit);
    const tornado = res.tornadoOf(r.group);
    const xt = tornado !== undefined ? res.goodness(r.id, tornado) : undefined;
    const rss = res.rssAbove(r.id);
    lines.push(`${pad(name, 22)} ${pad(fmt(s.median), 9, true)} ${pad(`${fmt(s.min)}–${fmt(s.max)}`, 19, true)} ${pad(r.unit, 8)} ${pad(xl === undefined ? '' : xl.toFixed(2), 7, true)} ${pad(xt === undefined ? '' : xt.toFixed(2), 8, true)} ${pad(rss === undefined ? '' : (rss / MiB).toFixed(0), 8, true)} ${pad(String(s.runs.length), 2, true)}`);
  }
  return lines.join('\n');
}

export function verdictTable(vs: readonly Verdict[]): string {
  const lines = ['', 'Targets', `${pad('target', 52)} ${pad('value', 7, true)} ${pad('limit', 12)} status`];
  for (const v of vs) {
    lines.push(`${pad(v.text, 52)} ${pad(v.value === undefined ? '—' : v.value.toFixed(2), 7, true)} ${pad(v.limit, 12)} ${v.status}${v.why ? ` (${v.why})` : ''}`);
  }
  return lines.join('\n');
}

export function toJson(res: Results): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const r of res.rows.values()) {
    const s = res.summary(r.id);
    const limit = LIMIT[r.group] ?? `${r.group}/raw`;
    out[r.id] = {
      group: r.group, label: r.label, peer: r.peer, unit: r.unit, lowerIsBetter: r.lower,
      median: s?.median ?? null, min: s?.min ?? null, max: s?.max ?? null, runs: r.values,
      vsLimit: res.goodness(r.id, limit) ?? null,
      vsTornado: ((tornado) => (tornado !== undefined ? res.goodness(r.id, tornado) ?? null : null))(res.tornadoOf(r.group)),
      rssAboveBaseline: res.rssAbove(r.id) ?? null,
      ...(r.skip !== undefined ? { skipped: r.skip } : {}),
      ...(r.errors.length > 0 ? { errors: r.errors } : {}),
    };
  }
  return out;
}
