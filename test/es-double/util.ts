// Small helpers shared by the double's modules.

export type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Array.isArray narrows `unknown` to `any[]`; this keeps elements `unknown`. */
export function isArray(v: unknown): v is unknown[] {
  return Array.isArray(v);
}

const globCache = new Map<string, RegExp>();

/** ES-style glob: `*` matches any run of characters (dots included). */
export function globToRegExp(pattern: string): RegExp {
  let re = globCache.get(pattern);
  if (re === undefined) {
    const body = pattern.split('*').map(escapeRegExp).join('.*');
    re = new RegExp(`^${body}$`);
    globCache.set(pattern, re);
  }
  return re;
}

export function globMatch(pattern: string, value: string): boolean {
  return pattern.includes('*') ? globToRegExp(pattern).test(value) : pattern === value;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

/** Comma-separated list param/body value → trimmed non-empty strings. */
export function splitList(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  const parts = Array.isArray(v) ? v.flatMap((s) => s.split(',')) : v.split(',');
  return parts.map((s) => s.trim()).filter((s) => s.length > 0);
}

export function asArray<T>(v: T | T[] | undefined): T[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}
