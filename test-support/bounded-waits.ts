/**
 * Waits that end when a test fails instead of hanging it, and forced garbage collection for
 * tests of finalizers. Bounds are generous failsafes, never what a test measures: a loaded
 * machine makes a passing test slower, not failing.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collector: (() => void) | undefined;

/**
 * V8's full collection. Jest starts its workers without --expose-gc, so the flag is set now and
 * `gc` read from a fresh context (the flag only adds it to contexts created afterwards).
 */
export function forceGc(): void {
  if (!collector) {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    if (typeof gc !== 'function') throw new Error('V8 gc() is not available in this process');
    collector = gc as () => void;
  }
  collector();
}

/**
 * Collect garbage and yield to the event loop until `done()` holds, at most `collections` times.
 * Finalizers run as tasks after a collection, and what they destroy (a socket) closes a few
 * turns later, so each round collects once and turns the loop. Returns whether `done()` held.
 */
export async function collectUntil(done: () => boolean, collections = 50): Promise<boolean> {
  for (let round = 0; round < collections; round += 1) {
    if (done()) return true;
    forceGc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return done();
}

/**
 * Turn the event loop until `done()` holds, at most `turns` times of about `stepMs` each.
 * Returns whether it held.
 */
export async function until(done: () => boolean, turns = 1000, stepMs = 10): Promise<boolean> {
  for (let turn = 0; turn < turns; turn += 1) {
    if (done()) return true;
    await new Promise((resolve) => setTimeout(resolve, turn < 20 ? 0 : stepMs));
  }
  return done();
}

/** `promise`, or a rejection naming `what` if it has not settled after `ms` (a hang, not slowness). */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms (hung)`)), ms);
  });
  try {
    return await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}
