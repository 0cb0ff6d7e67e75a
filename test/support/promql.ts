// Reads the metric names and equality label matchers out of PromQL expressions, and
// the series out of a Prometheus text exposition, so that a test can prove that every
// query of the dashboard and the alert rules names something the router exports.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

const keywords = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'offset', 'bool', 'inf', 'nan']);

export interface Selector {
  metric: string;
  /** label = value matchers only (regex and negative matchers are not checked). */
  equals: Record<string, string>;
}

export function selectors(expr: string): Selector[] {
  let e = expr.replace(/\$\{?\w+\}?/g, 'VAR'); // Grafana variables ($job, $__rate_interval)
  const out: Selector[] = [];
  // A selector: name{matchers} or a bare name (not a function call, keyword or label list).
  e = e.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  e = e.replace(/\[[^\]]*\]/g, ' ').replace(/\boffset\s+\w+/g, ' ');
  const re = /([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*(\{[^}]*\})|([a-zA-Z_:][a-zA-Z0-9_:]*)/g;
  for (const m of e.matchAll(re)) {
    const name = m[1] ?? m[3];
    const after = e.slice((m.index ?? 0) + m[0].length);
    if (!name || keywords.has(name.toLowerCase()) || /^\s*\(/.test(after) || /^VAR/.test(name)) continue;
    if (/^\d/.test(name)) continue;
    const equals: Record<string, string> = {};
    for (const lm of (m[2] ?? '').matchAll(/(\w+)\s*(=~|!=|!~|=)\s*"([^"]*)"/g)) if (lm[2] === '=') equals[lm[1]!] = lm[3]!;
    out.push({ metric: name, equals });
  }
  return out;
}

export type Exposition = Map<string, Record<string, string>[]>;

/** name -> the label sets of its samples, from the text format. */
export function parseExposition(text: string): Exposition {
  const out: Exposition = new Map();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const lm of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[lm[1]!] = lm[2]!;
    const list = out.get(m[1]!) ?? [];
    list.push(labels);
    out.set(m[1]!, list);
  }
  return out;
}

/** Problems with one selector against an exposition ('' when it matches a series). */
export function checkSelector(s: Selector, exposition: Exposition, recorded: ReadonlySet<string>, ignoreLabels: readonly string[] = ['job', 'instance']): string {
  if (recorded.has(s.metric)) return '';
  const series = exposition.get(s.metric);
  if (!series) return `${s.metric}: not exported`;
  const wanted = Object.entries(s.equals).filter(([k]) => !ignoreLabels.includes(k));
  if (wanted.length === 0) return '';
  const hit = series.some((labels) => wanted.every(([k, v]) => labels[k] === v));
  return hit ? '' : `${s.metric}{${wanted.map(([k, v]) => `${k}="${v}"`).join(',')}}: no such series`;
}

export const dashboardFile = 'docker/grafana/sticky-router.json';
export const rulesFile = 'docker/prometheus/sticky-router.rules.yml';

interface Panel {
  title?: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

/** Every PromQL expression of the dashboard (panels and template variables), with where it is. */
export function dashboardQueries(root: string): { where: string; expr: string }[] {
  const dash = JSON.parse(readFileSync(`${root}/${dashboardFile}`, 'utf8')) as { panels: Panel[]; templating: { list: { name: string; query?: string | { query?: string } }[] } };
  const out: { where: string; expr: string }[] = [];
  const walk = (ps: Panel[]) => {
    for (const p of ps) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ where: `panel "${p.title}"`, expr: t.expr });
      walk(p.panels ?? []);
    }
  };
  walk(dash.panels);
  for (const v of dash.templating.list) {
    const q = typeof v.query === 'string' ? v.query : v.query?.query;
    const inner = q && /^label_values\((.*),\s*\w+\)$/.exec(q);
    if (inner) out.push({ where: `variable $${v.name}`, expr: inner[1]! });
  }
  return out;
}

/** Every alert and recording rule expression, and the names the recording rules define. */
export function ruleQueries(root: string): { queries: { where: string; expr: string }[]; recorded: Set<string> } {
  const doc = parseYaml(readFileSync(`${root}/${rulesFile}`, 'utf8')) as { groups: { rules: { alert?: string; record?: string; expr: string }[] }[] };
  const queries: { where: string; expr: string }[] = [];
  const recorded = new Set<string>();
  for (const g of doc.groups) {
    for (const r of g.rules) {
      queries.push({ where: r.alert ? `alert ${r.alert}` : `record ${r.record}`, expr: r.expr });
      if (r.record) recorded.add(r.record);
    }
  }
  return { queries, recorded };
}
