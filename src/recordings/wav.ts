// Reads what a WAV file's header says about its audio: enough to give a CDR the
// recording's duration without decoding it. MixMonitor writes the RIFF sizes only
// when it closes the file, so the duration comes from the file's size and the
// header's byte rate, not from the (possibly still zero) data chunk size.
import { openSync, readSync, closeSync } from 'node:fs';

export interface WavInfo {
  format: number; // 1 = PCM
  channels: number;
  sampleRate: number;
  byteRate: number;
  bitsPerSample: number;
  /** Byte offset of the audio data. */
  dataOffset: number;
  /** The data chunk size the header claims. */
  dataSize: number;
}

/** Parses a RIFF/WAVE header; throws with the reason when it is not one. */
export function parseWavHeader(buf: Buffer): WavInfo {
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') throw new Error('not a RIFF/WAVE file');
  let off = 12;
  let fmt: Omit<WavInfo, 'dataOffset' | 'dataSize'> | undefined;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    if (id === 'fmt ') {
      if (off + 8 + 16 > buf.length) break;
      fmt = {
        format: buf.readUInt16LE(off + 8),
        channels: buf.readUInt16LE(off + 10),
        sampleRate: buf.readUInt32LE(off + 12),
        byteRate: buf.readUInt32LE(off + 16),
        bitsPerSample: buf.readUInt16LE(off + 22),
      };
    } else if (id === 'data') {
      if (!fmt) throw new Error('WAVE data chunk before its fmt chunk');
      if (fmt.byteRate === 0) throw new Error('WAVE byte rate is 0');
      return { ...fmt, dataOffset: off + 8, dataSize: size };
    }
    off += 8 + size + (size % 2);
  }
  throw new Error('no WAVE data chunk in the first bytes');
}

export interface RecordingMeta {
  bytes: number;
  duration_s: number;
}

/** Size and duration of a WAV file on disk. */
export function wavFileMeta(path: string, size: number): RecordingMeta {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(Math.min(4096, size));
    readSync(fd, head, 0, head.length, 0);
    const info = parseWavHeader(head);
    const audio = Math.max(0, size - info.dataOffset);
    return { bytes: size, duration_s: Math.round((audio / info.byteRate) * 100) / 100 };
  } finally {
    closeSync(fd);
  }
}
