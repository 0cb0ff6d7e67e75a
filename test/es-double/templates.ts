// Composable index templates (`/_index_template`). Only the highest-priority
// matching template applies at index creation, as in ES; component templates,
// aliases and data streams are rejected rather than silently ignored.

import { EsError, err } from './errors.js';
import { flattenSettings } from './index-state.js';
import { Mapping } from './mapping.js';
import { globMatch, isObject, splitList, type JsonObject } from './util.js';

export interface IndexTemplate {
  name: string;
  indexPatterns: string[];
  priority: number;
  mappings?: unknown;
  settings?: unknown;
  /** Body as stored, echoed by GET. */
  body: JsonObject;
}

const TOP_LEVEL = new Set(['index_patterns', 'template', 'priority', 'composed_of', 'version', '_meta', 'data_stream', 'allow_auto_create', 'ignore_missing_component_templates', 'deprecated']);

export class Templates {
  private readonly byName = new Map<string, IndexTemplate>();

  put(name: string, body: unknown, createOnly: boolean): void {
    if (!isObject(body)) throw err.parsing('request body is required');
    for (const key of Object.keys(body)) {
      if (!TOP_LEVEL.has(key)) throw new EsError(400, 'x_content_parse_exception', `[1:2] [index_template] unknown field [${key}]`);
    }
    if (createOnly && this.byName.has(name)) throw err.illegalArgument(`index template [${name}] already exists`);
    if (body.data_stream !== undefined) throw err.unsupported('data_stream templates');
    if (Array.isArray(body.composed_of) && body.composed_of.length > 0) throw err.unsupported('component templates (composed_of)');
    const patterns = typeof body.index_patterns === 'string' ? splitList(body.index_patterns) : body.index_patterns;
    if (!Array.isArray(patterns) || patterns.length === 0 || !patterns.every((p): p is string => typeof p === 'string')) {
      throw err.validation('index patterns are missing');
    }
    const template = body.template ?? {};
    if (!isObject(template)) throw new EsError(400, 'x_content_parse_exception', '[1:2] [index_template] failed to parse field [template]');
    for (const key of Object.keys(template)) {
      if (key === 'aliases' && isObject(template.aliases) && Object.keys(template.aliases).length === 0) continue;
      if (key !== 'settings' && key !== 'mappings') throw err.unsupported(`template.${key}`);
    }
    // Validate now, like ES does at PUT time, rather than at index creation.
    new Mapping().merge(template.mappings);
    flattenSettings(template.settings);
    const priority = typeof body.priority === 'number' ? body.priority : 0;
    this.checkOverlap(name, patterns, priority);
    this.byName.set(name, {
      name,
      indexPatterns: patterns,
      priority,
      mappings: template.mappings,
      settings: template.settings,
      body: { ...body, index_patterns: patterns, composed_of: body.composed_of ?? [] },
    });
  }

  /** Templates whose name matches any of the comma-separated (wildcard) names. */
  find(names: string | undefined): IndexTemplate[] {
    const wanted = splitList(names);
    return [...this.byName.values()]
      .filter((t) => wanted.length === 0 || wanted.some((w) => globMatch(w, t.name)))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  delete(names: string): void {
    const found = this.find(names);
    if (found.length === 0 || splitList(names).some((n) => !n.includes('*') && !this.byName.has(n))) {
      throw new EsError(404, 'index_template_missing_exception', `index_template [${names}] missing`);
    }
    for (const t of found) this.byName.delete(t.name);
  }

  /** Highest-priority template for a new index. */
  forIndex(index: string): IndexTemplate | undefined {
    let best: IndexTemplate | undefined;
    for (const t of this.byName.values()) {
      if (!t.indexPatterns.some((p) => globMatch(p, index))) continue;
      if (!best || t.priority > best.priority) best = t;
    }
    return best;
  }

  clear(): void {
    this.byName.clear();
  }

  /** ES refuses two templates that could match the same index with equal priority. */
  private checkOverlap(name: string, patterns: string[], priority: number): void {
    for (const other of this.byName.values()) {
      if (other.name === name || other.priority !== priority) continue;
      const clash = patterns.some((a) => other.indexPatterns.some((b) => patternsOverlap(a, b)));
      if (clash) {
        throw err.illegalArgument(
          `index template [${name}] has index patterns [${patterns.join(', ')}] matching patterns from existing templates [${other.name}] with patterns (${other.name} => [${other.indexPatterns.join(', ')}]) that have the same priority [${priority}], multiple index templates may not match during index creation, please use a different priority`,
        );
      }
    }
  }
}

/** Conservative approximation of automaton intersection for simple globs. */
function patternsOverlap(a: string, b: string): boolean {
  if (globMatch(a, b) || globMatch(b, a)) return true;
  const pa = a.split('*')[0] ?? '';
  const pb = b.split('*')[0] ?? '';
  return a.includes('*') && b.includes('*') && (pa.startsWith(pb) || pb.startsWith(pa));
}
