/**
 * The {@link TransportSink} a facade gives its transport: forwards each event to the core and
 * carries out the resulting actions. One small object per stream (methods on the prototype,
 * not closures: 10,000 idle streams should cost little). Ignores everything after the stream
 * detached its transport (STARTTLS).
 */
import type { StreamCore } from '../../core/stream-core.js';
import type { TransportSink } from './transport.js';

/**
 * What the sink needs of its stream (`BaseIOStream`, whose `detached` flag is private and
 * `deliver()` protected: the stream hands itself over as this interface).
 */
export interface SinkOwner {
  /** The stream handed its transport on (STARTTLS): nothing more is reported. */
  readonly detached: boolean;
  /** Carries out the core's queued actions after a transport event (see `BaseIOStream.deliver`). */
  deliver(): void;
}

export class FacadeSink implements TransportSink {
  constructor(private readonly core: StreamCore, private readonly stream: SinkOwner) {}

  receive(data: Uint8Array): void {
    if (this.stream.detached) return;
    this.core.receive(data);
    this.stream.deliver();
  }

  receiveTransient(data: Uint8Array): void {
    if (this.stream.detached) return;
    this.core.receiveTransient(data);
    this.stream.deliver();
  }

  eof(): void {
    if (this.stream.detached) return;
    this.core.receiveEof();
    this.stream.deliver();
  }

  error(err: Error): void {
    if (this.stream.detached) return;
    this.core.receiveError(err);
    this.stream.deliver();
  }

  written(n: number): void {
    if (this.stream.detached) return;
    this.core.written(n);
    this.stream.deliver();
  }
}
