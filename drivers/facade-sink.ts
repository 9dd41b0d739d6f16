/**
 * The {@link TransportSink} a facade gives its transport: forwards each event to the core and
 * carries out the resulting actions. One small object per stream (methods on the prototype,
 * not closures: 10,000 idle streams should cost little). Ignores everything after the stream
 * detached its transport (STARTTLS).
 */
import type { StreamCore } from '../core/stream-core.js';
import type { BaseIOStream } from './base.js';
import type { TransportSink } from './transport.js';

export class FacadeSink implements TransportSink {
  // The stream's `detached` flag and `drain()` are private/protected: reached by element access,
  // TypeScript's sanctioned escape hatch, so they stay off the public surface.
  constructor(private readonly core: StreamCore, private readonly stream: BaseIOStream<never>) {}

  receive(data: Uint8Array): void {
    if (this.stream['detached']) return;
    this.core.receive(data);
    this.stream['drain']();
  }

  eof(): void {
    if (this.stream['detached']) return;
    this.core.receiveEof();
    this.stream['drain']();
  }

  error(err: Error): void {
    if (this.stream['detached']) return;
    this.core.receiveError(err);
    this.stream['drain']();
  }

  written(n: number): void {
    if (this.stream['detached']) return;
    this.core.written(n);
    this.stream['drain']();
  }
}
