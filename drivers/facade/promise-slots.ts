/**
 * One executor for every promise the facade makes: it hands the resolving functions over
 * through two module slots (an executor runs synchronously inside `new Promise`) instead of a
 * closure per promise. `newPromise()` returns the promise; `taken` holds its resolvers until the
 * caller stores them and calls `release()`.
 */

const noop = (): void => {};

/** The resolving functions of the promise `newPromise` made last (valid until `release`). */
export const taken: { resolve: (v: never) => void; reject: (e: unknown) => void } = { resolve: noop, reject: noop };

function executor(resolve: (v: never) => void, reject: (e: unknown) => void): void {
  taken.resolve = resolve;
  taken.reject = reject;
}

/** A new pending promise; take its resolvers from {@link taken}, then call {@link release}. */
export function newPromise<T>(): Promise<T> {
  return new Promise<T>(executor as (resolve: (v: T) => void, reject: (e: unknown) => void) => void);
}

/** Empties the slots, so they don't keep the last promise (and what it resolved with) alive. */
export function release(): void {
  taken.resolve = noop;
  taken.reject = noop;
}
