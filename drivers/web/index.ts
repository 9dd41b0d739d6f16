/**
 * `sansio-iostream/web`: a stream ({@link WebIOStream}, a `BaseIOStream`) over a WHATWG
 * `ReadableStream<Uint8Array>` / `WritableStream<Uint8Array>` pair — what Deno and Bun
 * sockets, browsers' WebTransport or fetch bodies, and Node's `stream.Duplex.toWeb(socket)`
 * give. No Node built-in is imported.
 * @module sansio-iostream/web
 */
export { WebIOStream, type WebStreamPair } from './web-iostream.js';
export type { ByteStreamReader, ByteStreamWriter } from './web-transport.js';
