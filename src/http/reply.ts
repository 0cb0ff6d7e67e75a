// What a route answers: a status, headers and a body. The server writes it; routes
// stay plain functions that tests can call without a socket.
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  /** A string is sent as is (with its content-type header); anything else as JSON. */
  body: unknown;
  /** Sent instead of `body` (media): the route sets content-type and content-length itself. */
  stream?: Readable;
}

export type Route = (req: IncomingMessage, path: string) => Promise<Reply> | Reply;

export const json = (status: number, body: unknown, headers: Record<string, string> = {}): Reply => ({ status, body, headers });
