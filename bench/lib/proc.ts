/**
 * Child processes speaking one JSON object per stdout line. Every wait has a deadline and
 * every child is killed (by its own pid) when its case ends, so a hung peer costs a bounded
 * time and leaves nothing behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export type Message = Record<string, unknown>;

export class Child {
  readonly proc: ChildProcess;
  private readonly messages: Message[] = [];
  private waiter: (() => void) | null = null;
  private stderr = '';
  private exited = false;
  exitCode: number | null = null;

  constructor(cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv) {
    this.proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: env ?? process.env });
    let pending = '';
    this.proc.stdout?.on('data', (d: Buffer) => {
      pending += d.toString('utf8');
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (line.startsWith('{')) {
          try { this.messages.push(JSON.parse(line) as Message); } catch { /* not ours */ }
        }
      }
      this.wake();
    });
    this.proc.stderr?.on('data', (d: Buffer) => { this.stderr = (this.stderr + d.toString('utf8')).slice(-4000); });
    this.proc.on('exit', (code) => { this.exited = true; this.exitCode = code; this.wake(); });
    this.proc.on('error', (err) => { this.stderr += String(err); this.exited = true; this.wake(); });
    this.proc.stdin?.on('error', () => {});
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /** The first message carrying one of `keys` (removed from the queue); rejects on exit or deadline. */
  async waitFor(keys: readonly string[], timeoutMs: number): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.messages.findIndex((m) => keys.some((k) => k in m));
      if (i >= 0) return this.messages.splice(i, 1)[0] as Message;
      if (this.exited) throw new Error(`exited (${String(this.exitCode)}) without ${keys.join('/')}: ${this.stderr.trim().slice(-600)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${keys.join('/')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => { clearTimeout(t); resolve(); };
      });
    }
  }

  send(line: string): void {
    this.proc.stdin?.write(`${line}\n`);
  }

  /** Waits up to `ms` for a natural exit, then kills. */
  async finish(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.exited && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiter = () => { clearTimeout(t); resolve(); };
      });
    }
    this.kill();
  }

  kill(): void {
    if (!this.exited && this.proc.pid !== undefined) {
      try { process.kill(this.proc.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
  }
}
