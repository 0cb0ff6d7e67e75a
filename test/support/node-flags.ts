// The node flags the bin's shebang carries (`#!/usr/bin/env -S node --flag …`): the image's
// ENTRYPOINT must pass the same, and the bench starts the router with them.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const mainTs = join(resolve(import.meta.dirname, '..', '..'), 'src/cli/main.ts');

export function shebangNodeFlags(file: string = mainTs): string[] {
  const first = readFileSync(file, 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!\/usr\/bin\/env\s+(?:-S\s+)?node((?:\s+-\S+)*)\s*$/.exec(first);
  return m?.[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
}
