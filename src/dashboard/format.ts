// Number formatting for the views: bytes, rates, microseconds, ages. Missing figures show as "–".

const DASH = '–';

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

export function count(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  return Math.round(n).toLocaleString('en-US');
}

export function micros(us: number | null | undefined): string {
  if (us === null || us === undefined || !Number.isFinite(us)) return DASH;
  if (us < 1000) return `${Math.round(us)} µs`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)} ms`;
  return `${(us / 1_000_000).toFixed(2)} s`;
}

export function seconds(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return DASH;
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

/** A time given in seconds or milliseconds since the epoch (values past year 2286 in s are ms). */
export function time(t: number | null | undefined): string {
  if (t === null || t === undefined || !Number.isFinite(t) || t <= 0) return DASH;
  const ms = t > 1e11 ? t : t * 1000;
  return new Date(ms).toLocaleString();
}

export function ttl(s: number): string {
  if (s === -1) return 'none';
  if (s === -2) return 'gone';
  return seconds(s);
}

export function short(id: string | null | undefined): string {
  return id === null || id === undefined ? DASH : id.slice(0, 8);
}

export function value(v: unknown): string {
  if (v === null || v === undefined) return DASH;
  if (typeof v === 'number') return count(v);
  return String(v);
}
