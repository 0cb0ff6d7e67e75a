// The recordings directory, read-only, with one way in: a relative path of the
// shape the dialplan writes (YYYY/MM/DD/<uniqueid>.wav). Anything else is refused
// before the file system is touched (so no `..`, no absolute path, no encoded
// separator can name another file), and a path that resolves outside the
// directory through a symlink is refused after realpath.
import { constants, type Stats } from 'node:fs';
import { open, realpath, stat, type FileHandle } from 'node:fs/promises';
import { realpathSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';

/** What [sticky-record-prepare] writes: the UTC date and the caller's uniqueid. */
export const recordingPathPattern = /^\d{4}\/(0[1-9]|1[0-2])\/(0[1-9]|[12]\d|3[01])\/[A-Za-z0-9][A-Za-z0-9._-]{0,127}\.wav$/;

export function isRecordingPath(rel: string): boolean {
  return recordingPathPattern.test(rel) && !rel.includes('..');
}

export type OpenResult = { ok: true; handle: FileHandle; size: number; mtimeMs: number } | { ok: false; why: 'unsafe_path' | 'outside_dir' | 'missing' | 'not_a_file' };

export class RecordingStore {
  constructor(readonly dir: string) {}

  /** Opens a recording for reading. The caller closes the handle. */
  async open(rel: string): Promise<OpenResult> {
    if (!isRecordingPath(rel)) return { ok: false, why: 'unsafe_path' };
    let real: string;
    let root: string;
    try {
      root = await realpath(this.dir);
      real = await realpath(join(root, rel));
    } catch {
      return { ok: false, why: 'missing' };
    }
    if (!real.startsWith(root + sep)) return { ok: false, why: 'outside_dir' };
    let handle: FileHandle;
    try {
      // O_NOFOLLOW: the resolved path must not have become a symlink since realpath.
      handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch {
      return { ok: false, why: 'missing' };
    }
    const st = await handle.stat();
    if (!st.isFile()) {
      await handle.close();
      return { ok: false, why: 'not_a_file' };
    }
    return { ok: true, handle, size: st.size, mtimeMs: st.mtimeMs };
  }

  /** The real path and stat of a recording inside the directory, or undefined (unsafe, outside, missing). Synchronous: the CDR path is. */
  resolveSync(rel: string): { path: string; stat: Stats } | undefined {
    if (!isRecordingPath(rel)) return undefined;
    try {
      const root = realpathSync(this.dir);
      const real = realpathSync(join(root, rel));
      if (!real.startsWith(root + sep)) return undefined;
      const st = statSync(real);
      return st.isFile() ? { path: real, stat: st } : undefined;
    } catch {
      return undefined;
    }
  }

  async exists(rel: string): Promise<boolean> {
    if (!isRecordingPath(rel)) return false;
    try {
      const root = await realpath(this.dir);
      const real = await realpath(join(root, rel));
      return real.startsWith(root + sep) && (await stat(real)).isFile();
    } catch {
      return false;
    }
  }
}
