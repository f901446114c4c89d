/** Small, pure formatters so every view shows numbers the same way. */

/** Seconds as h:mm:ss (hours unbounded); null or non-finite → an em dash. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return '—';
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
}

/** kimg with enough precision to see it move early in a run, without noise later on. */
export function formatKimg(kimg: number): string {
  if (kimg < 10) return kimg.toFixed(2);
  if (kimg < 1000) return kimg.toFixed(1);
  return Math.round(kimg).toLocaleString('en-US');
}

export function formatRate(imgPerSec: number): string {
  return imgPerSec < 100 ? imgPerSec.toFixed(1) : Math.round(imgPerSec).toLocaleString('en-US');
}

export function formatInt(n: number): string {
  return n.toLocaleString('en-US');
}

/** A hyperparameter value as it should read in a table (learning rates in exponent form). */
export function formatValue(value: unknown): string {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) && Math.abs(value) < 0.01) return value.toExponential(1);
    return String(value);
  }
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  return String(value);
}

/** An ISO timestamp as a short local date and time; the year only when it is not this one. */
export function formatDate(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const thisYear = date.getFullYear() === new Date().getFullYear();
  return date.toLocaleString(undefined, {
    ...(thisYear ? {} : { year: 'numeric' }),
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
  });
}

/** Just the day, for cards where space is short (the full time goes in a tooltip). */
export function formatDay(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatInt(n)} ${n === 1 ? one : many}`;
}
