/**
 * `for await (const chunk of stream)`: the chunks of a stream as they arrive, one
 * `readBytes(readChunkSize, { partial: true })` each. Ends at a clean close with nothing left
 * buffered; an error close throws `StreamClosedError { realError }`.
 */
import { StreamClosedError } from '../../core/errors.js';
import type { StreamCore } from '../../core/stream-core.js';

/** The chunks `core` delivers through `readPartial(size)` (the stream's partial `readBytes`). */
export async function* chunksOf<B>(core: StreamCore, readPartial: (size: number) => Promise<B>): AsyncGenerator<B, void, undefined> {
  const size = core.readChunkSize;
  for (;;) {
    if (core.closed && core.readBufferSize === 0) {
      if (core.error === null) return;
      throw new StreamClosedError(core.error);
    }
    let chunk: B;
    try {
      chunk = await readPartial(size);
    } catch (err) {
      // A clean close while the read waited on an empty buffer is the end of the data.
      if (err instanceof StreamClosedError && core.closed && core.error === null && core.readBufferSize === 0) return;
      throw err;
    }
    yield chunk;
  }
}
