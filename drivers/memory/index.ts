/**
 * `sansio-iostream/memory`: connected in-memory stream pairs ({@link memoryPair}) over a
 * deterministic scheduler ({@link SimLoop}), with seeded chunking and injected faults. No Node
 * built-in, no real timer: it runs wherever the core does.
 *
 * Each direction of a pair is a link: what one side writes is copied in (as a kernel would),
 * split by the chunking mode, and delivered to the other side after `latency` virtual ms while
 * that side is reading. A link holds at most `linkCapacity` undelivered bytes before it stops
 * acknowledging writes, so backpressure is real.
 * @module sansio-iostream/memory
 */
export { MemoryIOStream, SimLoop, memoryPair, type MemoryPairOptions, type SimOptions } from './memory-pair.js';
export type { Chunking } from './link.js';
export { seededRandom, type SimSchedulerOptions } from './sim-loop.js';
