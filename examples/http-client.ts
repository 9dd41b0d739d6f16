/**
 * An HTTP/1.0 client written with IOStream: write a GET, readUntil the blank line, parse
 * Content-Length, readBytes the body (or readUntilClose when there is no length).
 * Run: node --import tsx examples/http-client.ts [http://host:port/path]
 * Without a URL it starts Node's own `http` server on 127.0.0.1 and fetches from it.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { IOStream } from 'sansio-iostream';

export interface HttpResponse {
  statusLine: string;
  headers: [string, string][];
  body: Buffer;
}

/** Fetches `url` (http only) with one HTTP/1.0 request over an IOStream. */
export async function fetchHttp10(url: URL): Promise<HttpResponse> {
  if (url.protocol !== 'http:') throw new TypeError(`only http: URLs, got ${url.protocol}`);
  const port = url.port === '' ? 80 : Number(url.port);
  const stream = await new IOStream().connect({ host: url.hostname, port });
  try {
    await stream.write(`GET ${url.pathname}${url.search} HTTP/1.0\r\nHost: ${url.host}\r\nUser-Agent: sansio-iostream-demo\r\n\r\n`);
    const head = (await stream.readUntil('\r\n\r\n', { maxBytes: 64 * 1024 })).toString('latin1');
    const [statusLine = '', ...lines] = head.slice(0, -4).split('\r\n');
    const headers = lines.map((l): [string, string] => {
      const i = l.indexOf(':');
      return [l.slice(0, i).trim(), l.slice(i + 1).trim()];
    });
    const length = headers.find(([k]) => k.toLowerCase() === 'content-length')?.[1];
    const body = length === undefined ? await stream.readUntilClose() : await stream.readBytes(Number(length));
    return { statusLine, headers, body };
  } finally {
    stream.close();
  }
}

export async function httpDemo(target: string | undefined, log: (s: string) => void = console.log): Promise<void> {
  let server: http.Server | null = null;
  let url: URL;
  if (target === undefined) {
    const page = Buffer.from('<!doctype html><title>sansio-iostream</title><p>Hello from Node\'s http server.</p>\n'.repeat(40));
    server = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': page.length });
      res.end(page);
    });
    await new Promise<void>((resolve) => (server as http.Server).listen(0, '127.0.0.1', resolve));
    url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/index.html`);
    log(`started an HTTP server on ${url.host}`);
  } else {
    url = new URL(target);
  }
  try {
    log(`GET ${url.href}`);
    const res = await fetchHttp10(url);
    log(res.statusLine);
    for (const [k, v] of res.headers) log(`  ${k}: ${v}`);
    log(`body: ${res.body.length} bytes, starts ${JSON.stringify(res.body.subarray(0, 40).toString('utf8'))}`);
  } finally {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await httpDemo(process.argv[2]);
}
