/**
 * A small request/response protocol written against `BaseIOStream`, for the `SimLoop` test of
 * docs/DRIVERS.md: the client sends `ADD a b\n` lines, the server answers each with
 * `SUM a+b\n` (or `ERR ...\n` for a bad line) and `BYE\n` to `QUIT\n`. Written once, it runs
 * on any transport; test/examples.test.ts runs it on seeded simulated links.
 */
import type { BaseIOStream } from 'sansio-iostream/facade';

const decoder = new TextDecoder();

/** Serves one connection until `QUIT` or the peer's close. */
export async function sumServer(stream: BaseIOStream): Promise<void> {
  for (;;) {
    const line = decoder.decode(await stream.readUntil('\n', { maxBytes: 256 })).trimEnd();
    if (line === 'QUIT') {
      await stream.write('BYE\n');
      stream.close();
      return;
    }
    const m = /^ADD (-?\d+) (-?\d+)$/.exec(line);
    await stream.write(m === null ? `ERR bad request: ${line}\n` : `SUM ${Number(m[1]) + Number(m[2])}\n`);
  }
}

/** Sends every request in one go (pipelined), then reads the answers in order. */
export async function sumClient(stream: BaseIOStream, pairs: ReadonlyArray<readonly [number, number]>): Promise<number[]> {
  const requests = pairs.map(([a, b]) => `ADD ${a} ${b}\n`).join('');
  void stream.write(`${requests}QUIT\n`).catch(() => {});
  const sums: number[] = [];
  for (let i = 0; i < pairs.length; i++) {
    const answer = decoder.decode(await stream.readUntil('\n', { maxBytes: 256 }));
    sums.push(Number(/^SUM (-?\d+)\n$/.exec(answer)?.[1] ?? NaN));
  }
  const bye = decoder.decode(await stream.readUntilClose());
  if (bye !== 'BYE\n') throw new Error(`expected BYE, got ${JSON.stringify(bye)}`);
  return sums;
}
