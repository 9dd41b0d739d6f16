/**
 * Two WebIOStreams joined by two identity TransformStreams: no socket, no Node stream, no Node
 * import (test/runtimes bundles this file for Deno, Bun and a browser page).
 */
import { WebIOStream } from '../../drivers/web/index.js';
import type { StreamOptions } from '../../core/options.js';

/** Two streams joined by two identity TransformStreams (no socket, no Node stream). */
export function transformPair(options: StreamOptions = {}): [WebIOStream, WebIOStream] {
  const ab = new TransformStream<Uint8Array, Uint8Array>();
  const ba = new TransformStream<Uint8Array, Uint8Array>();
  return [
    WebIOStream.fromStreams({ readable: ba.readable, writable: ab.writable }, options),
    WebIOStream.fromStreams({ readable: ab.readable, writable: ba.writable }, options),
  ];
}
