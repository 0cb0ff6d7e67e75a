// The CDR document: what Asterisk reported, plus what the router needs to find
// "the last agent who talked to this caller". Stored in the local journal and in
// Elasticsearch daily indices `${ES_INDEX_PREFIX}-yyyy.MM.dd` (UTC, by end time).
// Numbers and ids are keyword fields; never analysed text.

import type { CallQuality } from './quality.js';

export type Direction = 'inbound' | 'outbound' | 'internal';

export interface CdrDocument {
  /** Deterministic id from the CDR's identity (uniqueid, linkedid, channels, start): a resend never duplicates. */
  id: string;
  /** End of the call, UTC ISO-8601: the time the lookup window is measured against. */
  '@timestamp': string;
  direction: Direction;
  /** The customer's number in E.164 (+…); absent when the number did not parse. */
  customer_e164?: string;
  /** The customer's number exactly as Asterisk had it. */
  customer_raw?: string;
  /**
   * The agent: the queue member who answered (MemberName, or the extension of its
   * interface), else the extension in the agent's channel name (PJSIP/1002-0000001 → 1002).
   */
  agent?: string;
  /** The PBX that wrote this CDR (PBX_NAME, or Asterisk's SystemName); absent on a router without a name. */
  pbx?: string;
  /** The PBX the agent works on: `pbx`, or the other PBX a remote sticky ring reached them on (PBX_ROUTES). */
  agent_pbx?: string;
  /** Seconds the customer and the agent were connected (Asterisk's billsec). */
  talk_seconds: number;
  /** True when talk_seconds reached the minimum talk time: only these teach the router. */
  talked: boolean;
  /** An agent's outbound call the customer did not answer: teaches the router where learnFromAttempts is on. */
  attempt?: boolean;
  /** The router's reason code, for calls the router handled. */
  sticky_reason?: string;
  did?: string;
  /** The call's recording (see src/recordings): present when the dialplan recorded it and the file was there. */
  recording?: {
    /** Path inside RECORDINGS_DIR: YYYY/MM/DD/<uniqueid>.wav. */
    file: string;
    duration_s: number;
    bytes: number;
    /** Set when RECORDINGS_RETENTION deleted the file. */
    deleted_at?: string;
  };
  /** Voice quality of both legs, set-up time and hangup cause (see quality.ts); absent without the [sticky-qos] dialplan. */
  quality?: CallQuality;
  asterisk: {
    src: string;
    dst: string;
    dcontext: string;
    clid: string;
    channel: string;
    dstchannel: string;
    lastapp: string;
    lastdata: string;
    start: string;
    answer?: string;
    end: string;
    duration: number;
    billsec: number;
    disposition: string;
    amaflags: string;
    accountcode: string;
    uniqueid: string;
    linkedid?: string;
    userfield: string;
  };
}

/** The fields a lookup reads back; the ES source limits `_source` to these. */
export const lookupFields = ['@timestamp', 'agent', 'agent_pbx', 'customer_e164', 'talk_seconds', 'attempt'] as const;
