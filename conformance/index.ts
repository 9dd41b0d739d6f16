/**
 * Shared behavioural conformance suite, parametrized by a "make a connected pair" factory
 * (one factory per driver: TCP, TLS, pipe/child, memory, web).
 *
 * Placeholder until the suite is written: `true` means the conformance suite has not been
 * implemented yet, so importing `sansio-iostream/conformance` gives no tests.
 */
export const CONFORMANCE_PENDING = true;
