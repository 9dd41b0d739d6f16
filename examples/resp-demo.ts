/**
 * The RESP client and server of ./resp.ts over an in-memory pair, with the bytes split at
 * seeded random places on the way: the session reads the same however they are split.
 * Run: node --import tsx examples/resp-demo.ts
 * (`... resp-demo.ts --stdio` serves RESP on stdin/stdout instead: the pipe driver, same code.)
 */
import { memoryPair } from 'sansio-iostream/memory';
import { RespClient, formatValue, type RespArg } from './resp.js';
import { serveResp } from './resp-server.js';

export async function respDemo(log: (s: string) => void = console.log): Promise<void> {
  const [clientEnd, serverEnd] = memoryPair({ chunking: 'random', seed: 7 });
  const served = serveResp(serverEnd);
  const redis = new RespClient(clientEnd);

  const session: RespArg[][] = [
    ['PING'],
    ['SET', 'greeting', 'hello\r\nworld'], // bulk strings are binary safe: CRLF inside is fine
    ['GET', 'greeting'],
    ['GET', 'missing'],
    ['INCR', 'visits'],
    ['INCR', 'visits'],
    ['INCR', 'greeting'],
    ['MGET', 'visits', 'missing', 'greeting'],
    ['DEL', 'greeting', 'missing'],
    ['NOPE'],
  ];
  for (const args of session) {
    log(`> ${args.map(String).join(' ').replace(/\r\n/g, '\\r\\n')}`);
    log(formatValue(await redis.command(...args)));
  }

  // Pipelining: all ten commands are written before the first reply is read.
  const replies = await Promise.all(Array.from({ length: 10 }, () => redis.command('INCR', 'pipelined')));
  log(`> 10 x INCR pipelined (in flight together)\n${replies.map(formatValue).join(' ')}`);

  log(`> QUIT\n${formatValue(await redis.command('QUIT'))}`);
  await served;
  const rest = await clientEnd.readUntilClose(); // resolves at the server's clean close
  log(`server closed the connection (${rest.length} bytes left, error=${String(clientEnd.error)})`);
}

/** The same server over this process's stdin/stdout (test/resp.test.ts runs it as a child). */
async function serveStdio(): Promise<void> {
  const { PipeIOStream } = await import('sansio-iostream');
  await serveResp(PipeIOStream.fromStreams(process.stdin, process.stdout));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv[2] === '--stdio') await serveStdio();
  else await respDemo();
}
