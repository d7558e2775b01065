/**
 * Pure formatting of figures for the sidebar: money, time, carbon. No DOM, no clock
 * read: callers pass `now` (epoch seconds) so the output is testable.
 */

/** Credits with two significant digits below one, so small jobs and prices still move: 0.0042, 0.036, 1.25, 120. */
export function formatCredits(value: number): string {
  const abs = Math.abs(value);
  if (abs === 0) {
    return '0';
  }
  if (abs < 1e-6) {
    return value.toExponential(1);
  }
  if (abs < 1) {
    return String(Number(value.toPrecision(2)));
  }
  if (abs < 100) {
    return value.toFixed(2);
  }
  return value.toFixed(0);
}

/** A per-second price as a per-hour one: "0.036/CPU-h". */
export function formatPerHour(perSecond: number, unit: string): string {
  return `${formatCredits(perSecond * 3600)}/${unit}-h`;
}

/** A duration in seconds: "42 s", "3 min", "1 h 05 min". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) {
    return `${s} s`;
  }
  const minutes = Math.floor(s / 60);
  if (minutes < 60) {
    const rest = s % 60;
    return rest && minutes < 10 ? `${minutes} min ${rest} s` : `${minutes} min`;
  }
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/** When a job is expected to start, relative to now: "in ~2 min", "any moment now". */
export function formatExpectedStart(expected: number | null, now: number): string {
  if (expected === null) {
    return 'no estimate yet';
  }
  const wait = expected - now;
  if (wait < 5) {
    return 'any moment now';
  }
  if (wait < 60) {
    return `in ~${Math.round(wait)} s`;
  }
  if (wait < 3600) {
    return `in ~${Math.round(wait / 60)} min`;
  }
  return `in ~${formatDuration(wait)}`;
}

/** How long a job has run (or ran): from its start to its end or to now. */
export function elapsedSeconds(
  startedAt: number | null,
  finishedAt: number | null,
  now: number
): number | null {
  if (startedAt === null) {
    return null;
  }
  return Math.max(0, (finishedAt ?? now) - startedAt);
}

/** Grams of CO2e: "0.31 g", "12 g", "1.4 kg". */
export function formatCarbon(grams: number): string {
  if (grams >= 1000) {
    return `${(grams / 1000).toFixed(1)} kg`;
  }
  if (grams >= 10) {
    return `${grams.toFixed(0)} g`;
  }
  return `${grams.toFixed(2)} g`;
}

/** A queue position: "3 of 12", or "#3" when the queue length is unknown. */
export function formatPosition(
  position: number | null,
  queueLength: number | null
): string {
  if (position === null) {
    return '';
  }
  return queueLength === null ? `#${position}` : `${position} of ${queueLength}`;
}

/** Bytes as a short size: "2 GB", "512 MB". */
export function formatBytes(bytes: number): string {
  const gb = bytes / 1e9;
  if (gb >= 1) {
    return `${Number.isInteger(gb) ? gb : gb.toFixed(1)} GB`;
  }
  return `${Math.round(bytes / 1e6)} MB`;
}
