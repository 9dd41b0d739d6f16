/**
 * Driving `StreamCore` by hand, without the facade: a tiny line protocol (each line in, its
 * upper-case echo out, `QUIT` ends the session) over a transport the caller plays. This is the
 * sans-IO loop a driver or an embedding in another event loop runs: give the core one input,
 * then drain its actions until there are none, and carry each one out. docs/DRIVERS.md walks
 * through it; test/examples.test.ts feeds it the same bytes split every way.
 */
import { StreamCore, type Action } from 'sansio-iostream/core';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What the protocol did on the wire: the bytes it wrote, and whether it closed and why. */
export interface LineSession {
  /** Everything the core asked the transport to write, in order. */
  readonly written: Uint8Array[];
  /** Whether the transport was asked to read (the latest want-read / pause-read). */
  reading: boolean;
  /** `undefined` while open; then the error the core closed with (`null`: clean). */
  closedWith: Error | null | undefined;
  /** Feed bytes that arrived from the peer. */
  receive(bytes: Uint8Array): void;
  /** The peer closed its side. */
  eof(): void;
}

/** Starts a session: the first read is issued at once. */
export function lineSession(maxLineBytes = 1024): LineSession {
  const core = new StreamCore({ readChunkSize: 4096 });
  let lineRead = core.readUntil('\n', { maxBytes: maxLineBytes });

  const session: LineSession = {
    written: [],
    reading: false,
    closedWith: undefined,
    receive(bytes) { core.receive(bytes); drain(); },
    eof() { core.receiveEof(); drain(); },
  };

  function onLine(line: Uint8Array): void {
    const text = decoder.decode(line).trimEnd();
    if (text === 'QUIT') {
      core.write(encoder.encode('BYE\n'));
      core.close();
      return;
    }
    core.write(encoder.encode(`${text.toUpperCase()}\n`));
    lineRead = core.readUntil('\n', { maxBytes: maxLineBytes }); // the next line
  }

  /** Carries out every queued action; a handler's new inputs queue more, handled in the same loop. */
  function drain(): void {
    for (let a: Action | undefined = core.nextAction(); a !== undefined; a = core.nextAction()) {
      switch (a.type) {
        case 'want-read': session.reading = true; break;
        case 'pause-read': session.reading = false; break;
        case 'write-these': {
          for (const c of a.chunks) session.written.push(c.slice());
          // This "transport" takes the bytes at once; a real one confirms them when it has.
          core.written(a.byteLength);
          break;
        }
        case 'resolve-request':
          if (a.id === lineRead && a.error === undefined) onLine(a.value as Uint8Array);
          break; // writes resolve here too; nobody waits for them in this protocol
        case 'stream-chunk': break; // no streaming read in this protocol
        case 'close-with-error': session.closedWith = a.error; break;
        case 'closed': break; // last action: a facade would run the close callback now
      }
    }
  }

  drain();
  return session;
}

/** Everything `session` wrote, as text. */
export function writtenText(session: LineSession): string {
  return session.written.map((c) => decoder.decode(c)).join('');
}
