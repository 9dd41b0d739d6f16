/**
 * `npm run demo`: an HTTP/1.0 GET over TCP with IOStream (against a local Node http server, or
 * the URL given as argument), then the other examples: a line protocol over an in-memory pair,
 * STARTTLS, and a child process.
 */
import { httpDemo } from './http-client.js';
import { lineEchoDemo } from './line-echo.js';
import { starttlsDemo } from './starttls.js';
import { lineProtocol } from './child-process.js';

const section = (title: string): void => console.log(`\n=== ${title}`);

section('HTTP/1.0 client over TCP (IOStream)');
await httpDemo(process.argv[2]);
section('Line protocol over an in-memory pair (memoryPair, random chunking)');
await lineEchoDemo();
section('STARTTLS over one TCP connection (IOStream.startTls → SSLIOStream)');
await starttlsDemo();
section('A child process over its stdin/stdout (PipeIOStream.fromChild)');
await lineProtocol();
