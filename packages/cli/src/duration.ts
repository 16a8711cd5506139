/** Durations on the command line: `90s`, `15m`, `1h`, `7d`, `500ms`, or a bare number of milliseconds. */
import { UsageError } from './errors';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string, option: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) throw new UsageError(`${option}: '${text}' is not a duration (examples: 500ms, 90s, 15m, 1h, 7d).`);
  return Math.round(Number(match[1]) * UNITS[match[2] ?? 'ms']);
}

/** The other way round, for reports: the largest unit that divides it (`3600000` → `1h`). */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's']) if (ms >= UNITS[unit] && ms % UNITS[unit] === 0) return `${ms / UNITS[unit]}${unit}`;
  return `${ms}ms`;
}
