// Runs a test against a variant of one of the harness PBX's config files: writes the
// variant into the running root, reloads what reads it, and puts the original back
// (and reloads again) whatever the test did.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from '../harness/asterisk.js';
import { rootDir } from '../harness/paths.js';

export async function withPbxConfig<T>(file: string, change: (text: string) => string, reload: string | undefined, fn: () => Promise<T>): Promise<T> {
  const path = join(rootDir, 'etc/asterisk', file);
  const original = readFileSync(path, 'utf8');
  const changed = change(original);
  if (changed === original) throw new Error(`withPbxConfig: the change left ${file} as it was`);
  writeFileSync(path, changed);
  try {
    if (reload) cli(reload);
    return await fn();
  } finally {
    writeFileSync(path, original);
    if (reload) cli(reload);
  }
}

/** Runs an Asterisk CLI command now and `undo` afterwards, whatever the test did. */
export async function withPbxCommand<T>(command: string, undo: string, fn: () => Promise<T>): Promise<T> {
  cli(command);
  try {
    return await fn();
  } finally {
    cli(undo);
  }
}
