/**
 * A line protocol written once against BaseIOStream, run here over an in-memory pair:
 * the client sends commands, the server answers each line, both print what they do.
 * Run: node --import tsx examples/line-echo.ts
 */
import { memoryPair, type BaseIOStream } from 'sansio-iostream';

const text = new TextDecoder();

/** Serves one connection: `ECHO x` → `x`, `UPPER x` → `X`, `QUIT` → bye and close. */
export async function serveLines(stream: BaseIOStream, log: (s: string) => void): Promise<void> {
  for (;;) {
    const line = text.decode(await stream.readUntil('\n', { maxBytes: 1024 })).trimEnd();
    log(`server <- ${line}`);
    const [cmd = '', ...rest] = line.split(' ');
    const arg = rest.join(' ');
    if (cmd === 'QUIT') {
      await stream.write('bye\n');
      stream.close();
      return;
    }
    await stream.write(`${cmd === 'UPPER' ? arg.toUpperCase() : cmd === 'ECHO' ? arg : `unknown command ${cmd}`}\n`);
  }
}

export async function lineEchoDemo(log: (s: string) => void = console.log): Promise<void> {
  // Random chunking: the server sees the bytes split at seeded random places; results don't change.
  const [client, server] = memoryPair({ chunking: 'random', seed: 42 });
  server.setCloseCallback(() => log('server: closed'));
  const served = serveLines(server, log);
  for (const cmd of ['ECHO hello, world', 'UPPER sans-io', 'PING', 'QUIT']) {
    log(`client -> ${cmd}`);
    void client.write(`${cmd}\n`);
    log(`client <- ${text.decode(await client.readUntil('\n')).trimEnd()}`);
  }
  // The server closed after "bye": readUntilClose resolves with what is left (nothing).
  const rest = await client.readUntilClose();
  log(`client: server closed the stream cleanly (${rest.length} bytes left, error=${String(client.error)})`);
  await served;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await lineEchoDemo();
}
