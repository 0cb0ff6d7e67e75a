// asterisk-ami-client reads its socket through asterisk-ami-events-stream, whose
// `_parse` turns the whole rest of the chunk into a string (and trims it with a
// regex) for every message, only to test whether it starts with
// "Response: Follows"; `_analyzeSimple` then walks the bytes one by one for the
// blank line. Under load a socket read is 64 KiB holding ~100 events, so the cost
// per event grows with the chunk: quadratic in the chunk's size. This replaces those
// two methods on the library's own class (the instance the connector uses) with
// the same logic reading only what it needs: the head of the slice for the test,
// Buffer.indexOf for the blank line. Its event parser (asterisk-ami-event-utils'
// rowReducer: split on every ':' then join the rest again, per line) was the next
// cost: events are parsed here with the same rule (key before the first ':', both
// sides trimmed, last duplicate wins); responses and actions stay the library's,
// and what the stream emits and pushes is unchanged.
import { createRequire } from 'node:module';

type Chunk = Buffer;

interface EventsStreamProto {
  _isEmitted: boolean;
  _sawFirstCrLf: boolean;
  _rawData: Chunk[];
  _buffer: Chunk | null;
  _emission(b: Chunk): unknown;
  _parser(b: Chunk): unknown;
  _lastAmiEvent: unknown;
  _lastAmiResponse: unknown;
  _lastAmiAction: unknown;
  emit(event: string, value: unknown): boolean;
  push(chunk: string): boolean;
  _analyzeSimple(chunk: Chunk): Chunk | null;
  _analyzeExtend(chunk: Chunk): Chunk | null;
  _parse(chunk: Chunk): Generator<Chunk | null, null, Chunk | null>;
  __stickyFastPath?: boolean;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
// The library trims leading CR/LF before its test; a command's output header is short.
const FOLLOWS = /^[\r\n]*Response:\sFollows/i;
const HEAD_BYTES = 64;

/** The AmiEventsStream class that asterisk-ami-client's connector pipes its socket through. */
export function amiEventsStreamClass(): new () => NodeJS.ReadWriteStream {
  const fromClient = createRequire(createRequire(import.meta.url).resolve('asterisk-ami-client'));
  const fromConnector = createRequire(fromClient.resolve('asterisk-ami-connector'));
  return fromConnector('asterisk-ami-events-stream') as new () => NodeJS.ReadWriteStream;
}

/** Installs the fast path once per process; idempotent. */
export function installAmiStreamFastPath(streamClass: { prototype: object } = amiEventsStreamClass()): void {
  const proto = streamClass.prototype as EventsStreamProto;
  if (proto.__stickyFastPath) return;
  proto.__stickyFastPath = true;

  // Same generator protocol as the library's: yields the rest after one message, or null.
  proto._parse = function* parse(this: EventsStreamProto, chunk: Chunk): Generator<Chunk | null, null, Chunk | null> {
    let slice: Chunk | null = chunk;
    while (slice) {
      const head = slice.toString('utf-8', 0, Math.min(slice.length, HEAD_BYTES));
      slice = this._isEmitted && !FOLLOWS.test(head) ? yield this._analyzeSimple(slice) : yield this._analyzeExtend(slice);
    }
    return null;
  };

  proto._emission = function emission(this: EventsStreamProto, eventBuffer: Chunk): EventsStreamProto {
    const eventStr = trimCrLf(eventBuffer.toString('utf-8'));
    if (eventStr.length > 0) {
      if (/^Event/i.test(eventStr)) {
        this._lastAmiEvent = eventFields(eventStr);
        this.emit('amiEvent', this._lastAmiEvent);
      } else if (/^Action/i.test(eventStr)) {
        this._lastAmiAction = this._parser(eventBuffer);
        this.emit('amiAction', this._lastAmiAction);
      } else {
        this._lastAmiResponse = this._parser(eventBuffer);
        this.emit('amiResponse', this._lastAmiResponse);
      }
      this.push(`${eventStr}\r\n\r\n`);
    }
    this._isEmitted = true;
    return this;
  };

  // The library walks the bytes for a CRLF that directly follows a CRLF and emits up
  // to (not including) that second LF; the rest starts with the LF. Its flag
  // _sawFirstCrLf survives a chunk that ended in CRLF. Same cut, found with indexOf.
  proto._analyzeSimple = function analyzeSimple(this: EventsStreamProto, chunk: Chunk): Chunk | null {
    let lf = -1;
    if (this._sawFirstCrLf && chunk.length >= 2 && chunk[0] === 13 && chunk[1] === 10) {
      lf = 1;
    } else {
      const i = chunk.indexOf(CRLFCRLF);
      if (i >= 0) lf = i + 3;
    }
    if (lf >= 0) {
      this._buffer = chunk.subarray(0, lf);
      this._emission(this._buffer);
      this._sawFirstCrLf = false;
      return chunk.subarray(lf);
    }
    // At the end of its loop the flag is set exactly when the chunk ends in CRLF.
    const n = chunk.length;
    this._sawFirstCrLf = n >= 2 && chunk[n - 2] === 13 && chunk[n - 1] === 10;
    this._rawData.push(chunk);
    return null;
  };
}

/** The library's rawToString trim: leading and trailing CR/LF (its regex rescans at every CRLF). */
function trimCrLf(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 13 || s.charCodeAt(a) === 10)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 13 || s.charCodeAt(b - 1) === 10)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/** rawToObject for an event: every line with a ':' is `key: value`, both trimmed. */
function eventFields(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const row of text.split('\r\n')) {
    const colon = row.indexOf(':');
    if (colon >= 0) out[row.slice(0, colon).trim()] = row.slice(colon + 1).trim();
  }
  return out;
}
