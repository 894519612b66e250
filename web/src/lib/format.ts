// Formatting helpers: dates, countdowns, prices, categories.

export const categories = ['Comedy', 'Play', 'Dance', 'Fitness', 'Music', 'Workshops'] as const;

// categoryLabel shows a category the same way whatever case the API uses.
export function categoryLabel(c: string): string {
  const hit = categories.find((x) => x.toLowerCase() === c.toLowerCase());
  return hit || c;
}

// categoryClass gives the CSS modifier that colours a card for its category.
export function categoryClass(c: string): string {
  return `cat-${categoryLabel(c).toLowerCase().replace(/[^a-z]/g, '')}`;
}

// minorDigits is how many decimals a currency's minor unit has (2 for USD,
// 0 for JPY).
export function minorDigits(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency: currency || 'USD' }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

// formatPrice shows a price given in minor units (cents).
export function formatPrice(minor: number, currency: string): string {
  if (!minor) return 'Free';
  const major = minor / 10 ** minorDigits(currency);
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency: currency || 'USD' }).format(major);
  } catch {
    return `${major} ${currency}`;
  }
}

// toMinor converts a typed price ("12.50") to minor units for the API.
export function toMinor(major: string, currency: string): number {
  const n = Number(major.replace(',', '.'));
  if (!Number.isFinite(n)) return NaN;
  return Math.round(n * 10 ** minorDigits(currency));
}

export function fromMinor(minor: number, currency: string): string {
  const d = minorDigits(currency);
  return (minor / 10 ** d).toFixed(d);
}

const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short' });
const timeFmt = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });

export function formatWhen(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const now = new Date();
  const tomorrow = new Date(now);
  tomorrow.setDate(now.getDate() + 1);
  let day = dayFmt.format(d);
  if (d.toDateString() === now.toDateString()) day = 'Today';
  else if (d.toDateString() === tomorrow.toDateString()) day = 'Tomorrow';
  return `${day} · ${timeFmt.format(d)}`;
}

export function dayKey(iso: string): string {
  const d = new Date(iso);
  const now = new Date();
  const tomorrow = new Date(now);
  tomorrow.setDate(now.getDate() + 1);
  if (d.toDateString() === now.toDateString()) return 'Today';
  if (d.toDateString() === tomorrow.toDateString()) return 'Tomorrow';
  return new Intl.DateTimeFormat(undefined, { weekday: 'long', day: 'numeric', month: 'long' }).format(d);
}

// countdown renders the time until iso as "2d 4h", "3h 12m", "4m 09s" or
// "starting now".
export function countdown(iso: string, now = Date.now()): string {
  const ms = new Date(iso).getTime() - now;
  if (!(ms > 0)) return 'starting now';
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const hr = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d > 0) return `${d}d ${hr}h`;
  if (hr > 0) return `${hr}h ${String(m).padStart(2, '0')}m`;
  return `${m}m ${String(sec).padStart(2, '0')}s`;
}

export function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const hr = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return hr > 0 ? `${hr}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

// toLocalInput converts an ISO time to the value a datetime-local input takes.
export function toLocalInput(iso: string | Date): string {
  const d = typeof iso === 'string' ? new Date(iso) : iso;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// fromLocalInput converts a datetime-local value (local time) to RFC 3339.
export function fromLocalInput(v: string): string {
  if (!v) return '';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
