/**
 * A progress line on stderr while a command works, only when stderr is a terminal: piped into a
 * log, from cron or in a container, the output stays the report alone.
 */
import { SingleBar } from 'cli-progress';

export interface Progress {
  update(value: number, payload?: Record<string, unknown>): void;
  stop(): void;
}

const NONE: Progress = { update: () => undefined, stop: () => undefined };

/** `format` uses cli-progress tokens ({bar}, {value}, {total}) and the payload's names. */
export function startProgress(format: string, total: number, payload: Record<string, unknown> = {}): Progress {
  if (!process.stderr.isTTY) return NONE;
  const bar = new SingleBar({ format, stream: process.stderr, hideCursor: true, clearOnComplete: true, etaBuffer: 20, fps: 5 });
  bar.start(Math.max(total, 1), 0, payload);
  let current = Math.max(total, 1);
  return {
    update(value, extra) {
      if (value > current) bar.setTotal((current = value));
      bar.update(value, extra);
    },
    stop: () => bar.stop(),
  };
}
