// asterisk-ami-client ships no types; this declares the part the wrapper uses.
declare module 'asterisk-ami-client' {
  import { EventEmitter } from 'node:events';
  export interface AmiMessage { [key: string]: string | undefined }
  export interface AmiClientOptions {
    reconnect?: boolean;
    maxAttemptsCount?: number | null;
    attemptsDelay?: number;
    keepAlive?: boolean;
    keepAliveDelay?: number;
    emitEventsByTypes?: boolean;
    eventTypeToLowerCase?: boolean;
    emitResponsesById?: boolean;
    addTime?: boolean;
    eventFilter?: string[] | null;
  }
  export default class AmiClient extends EventEmitter {
    constructor(options?: AmiClientOptions);
    connect(user: string, secret: string, options: { host: string; port: number }): Promise<unknown>;
    disconnect(): this;
    action(message: Record<string, string>, promisable: true): Promise<AmiMessage>;
    /** Writes the action; the response arrives as a 'response' event with its ActionID. */
    action(message: Record<string, string>, promisable: false): this;
    get isConnected(): boolean;
    _connection: { close(): void } | null;
  }
}
