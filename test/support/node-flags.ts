// What the bin's shebang carries (`#!/usr/bin/env -S [VAR=value …] node [--flag …]`): the
// environment variables env sets before it execs node, and node's flags. The image's
// ENV and ENTRYPOINT must carry the same, and the bench starts the router with them.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const mainTs = join(resolve(import.meta.dirname, '..', '..'), 'src/cli/main.ts');

const shebang = /^#!\/usr\/bin\/env\s+(?:-S\s+)?((?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*)node((?:\s+-\S+)*)\s*$/;

function parse(file: string): RegExpExecArray | null {
  return shebang.exec(readFileSync(file, 'utf8').split('\n', 1)[0] ?? '');
}

export function shebangNodeFlags(file: string = mainTs): string[] {
  return parse(file)?.[2]?.trim().split(/\s+/).filter(Boolean) ?? [];
}

/** The `VAR=value` pairs before `node` (env -S sets them for the node it execs). */
export function shebangEnv(file: string = mainTs): Record<string, string> {
  const pairs = parse(file)?.[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
  return Object.fromEntries(pairs.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}
