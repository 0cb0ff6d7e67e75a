// Voice quality of a call, from the CDR variables that the dialplan's [sticky-qos]
// hangup handlers set on each leg (caller, agent) and cdr_manager maps into the Cdr
// event (StickyQosCaller, StickyQosAgent). Pure: no I/O.
//
// Directions. The handlers store Asterisk's own stat names (CHANNEL(rtcp,<name>));
// res_rtp_asterisk.c (ast_rtp_get_stat) fills them as follows, and this is where
// they get plain names, from the PBX's point of view:
//   rx = the stream Asterisk RECEIVED from that phone, measured by Asterisk itself:
//     rxcount  packets received
//     rxploss  packets lost, cumulative at Asterisk's last RTCP report
//              (expected_prior - received_prior)
//     txjitter (!) Asterisk's interarrival jitter on that stream (rtp->rxjitter), s
//     local_maxjitter  the largest such jitter seen, s
//     txmes    (!) Asterisk's media experience score of that stream (rtp->rxmes),
//     local_normdevmes / local_minmes  its mean / minimum over the call
//   tx = the stream Asterisk SENT to that phone, as the phone's RTCP reports it:
//     txcount  packets sent (Asterisk's own count)
//     txploss  packets lost per the phone's receiver reports (reported_lost)
//     rxjitter (!) jitter per the phone's reports (reported_jitter), s
//     rxmes    (!) MES from the phone's reports (reported_mes)
//     rtt      round trip from the phone's RR/SR timestamps, s
// A phone that sends no RTCP (sipp, some trunks) leaves every tx figure and the RTT
// at 0: then they are absent here, never a fake "0 % loss".
// Loss and MES exist only once Asterisk has sent an RTCP report (every
// rtp.conf `rtcpinterval`, 5 s by default): a shorter call has no rx loss/MES.

export interface StreamQuality {
  packets: number;
  lost?: number;
  /** Lost / expected × 100, 2 decimals. */
  loss_pct?: number;
  /** Interarrival jitter at hangup, ms. */
  jitter_ms?: number;
  /** Largest interarrival jitter seen, ms. */
  jitter_max_ms?: number;
  /** Asterisk's media experience score 0–100: mean over the call. */
  mes?: number;
  mes_min?: number;
}

export interface LegQuality {
  /** What Asterisk received from this phone (its own measurement). */
  rx: StreamQuality;
  /** What Asterisk sent to this phone; loss/jitter/MES only when the phone sent RTCP. */
  tx: StreamQuality;
  rtt_ms?: number;
  codec?: string;
  /** Q.850 cause this leg hung up with (16 = normal clearing). */
  hangup_cause?: number;
}

export type HangupBy = 'caller' | 'agent' | 'system';

export interface CallQuality {
  caller?: LegQuality;
  agent?: LegQuality;
  /** The call's worst figures over both legs and directions: what panels and thresholds read. */
  mes?: number;
  loss_pct?: number;
  jitter_ms?: number;
  rtt_ms?: number;
  codec?: string;
  /** From the caller's INVITE entering the dialplan to the call's answer, ms. */
  setup_ms?: number;
  /** The SIP response Dial recorded for the agent's leg (e.g. "SIP 200 OK", "SIP 486 Busy Here"). */
  sip_cause?: string;
  /** Q.850 cause of the caller's leg. */
  hangup_cause?: number;
  hangup_by?: HangupBy;
  /** The channel Asterisk names as the hangup's source. */
  hangup_source?: string;
  /** The caller's endpoint (`PJSIP/trunk`): quality by carrier. */
  trunk?: string;
}

type Fields = Map<string, string>;

/** `k=v&k=v` as the dialplan writes it; values never contain `&`. */
export function parseQosVar(raw: string | undefined): Fields | undefined {
  if (!raw) return undefined;
  const out: Fields = new Map();
  for (const part of raw.split('&')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return out.size > 0 ? out : undefined;
}

const num = (f: Fields, k: string): number | undefined => {
  const v = f.get(k);
  if (v === undefined || v === '' || !/^-?\d+(\.\d+)?$/.test(v)) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
};
const round = (n: number, d: number) => Math.round(n * 10 ** d) / 10 ** d;
const ms = (s: number | undefined) => (s === undefined ? undefined : round(s * 1000, 3));
const positive = (n: number | undefined) => (n !== undefined && n > 0 ? n : undefined);
const pct = (lost: number, received: number) => (lost + received > 0 ? round((lost / (lost + received)) * 100, 2) : 0);

export function legQuality(f: Fields): LegQuality | undefined {
  const rxcount = num(f, 'rxcount');
  const codec = f.get('codec')?.replace(/[()]/g, '') || undefined;
  const cause = num(f, 'cause');
  if (rxcount === undefined) {
    // Not a PJSIP leg (no RTP statistics): only the codec and the cause.
    if (!codec && cause === undefined) return undefined;
    return { rx: { packets: 0 }, tx: { packets: 0 }, ...(codec ? { codec } : {}), ...(cause !== undefined ? { hangup_cause: cause } : {}) };
  }
  // Asterisk's own MES is 0 until its first RTCP report: no report, no loss or MES yet.
  const reported = (num(f, 'local_normdevmes') ?? 0) > 0 || (num(f, 'txmes') ?? 0) > 0;
  const rxLost = num(f, 'rxploss') ?? 0;
  const rx: StreamQuality = {
    packets: rxcount,
    ...(reported ? { lost: rxLost, loss_pct: pct(rxLost, rxcount) } : {}),
    ...(num(f, 'txjitter') !== undefined ? { jitter_ms: ms(num(f, 'txjitter')) } : {}),
    ...(num(f, 'local_maxjitter') !== undefined ? { jitter_max_ms: ms(num(f, 'local_maxjitter')) } : {}),
    ...(reported ? { mes: round(num(f, 'local_normdevmes') || num(f, 'txmes') || 0, 1), mes_min: round(num(f, 'local_minmes') ?? 0, 1) } : {}),
  };
  // The phone's view arrives only in its RTCP reports; all zero means it sent none.
  const rtt = positive(num(f, 'rtt'));
  const remoteMes = positive(num(f, 'rxmes'));
  const remoteJitter = num(f, 'rxjitter');
  const remoteLost = num(f, 'txploss') ?? 0;
  const phoneReported = rtt !== undefined || remoteMes !== undefined || (remoteJitter ?? 0) > 0 || remoteLost > 0;
  const txcount = num(f, 'txcount') ?? 0;
  const tx: StreamQuality = {
    packets: txcount,
    ...(phoneReported ? { lost: remoteLost, loss_pct: pct(remoteLost, Math.max(0, txcount - remoteLost)) } : {}),
    ...(phoneReported && remoteJitter !== undefined ? { jitter_ms: ms(remoteJitter) } : {}),
    ...(remoteMes !== undefined ? { mes: round(remoteMes, 1) } : {}),
  };
  return {
    rx,
    tx,
    ...(rtt !== undefined ? { rtt_ms: ms(rtt) } : {}),
    ...(codec ? { codec } : {}),
    ...(cause !== undefined ? { hangup_cause: cause } : {}),
  };
}

export interface QualityInput {
  caller?: string;
  agent?: string;
  /** The CDR's channels, to say who hung up. */
  channel: string;
  dstchannel: string;
}

/** The call's quality document, or undefined when the dialplan recorded nothing (no [sticky-qos] handlers). */
export function callQuality(i: QualityInput): CallQuality | undefined {
  const cf = parseQosVar(i.caller);
  const af = parseQosVar(i.agent);
  const caller = cf && legQuality(cf);
  const agent = af && legQuality(af);
  if (!caller && !agent) return undefined;
  const streams = [caller?.rx, caller?.tx, agent?.rx, agent?.tx].filter((s): s is StreamQuality => s !== undefined);
  const worst = (vals: (number | undefined)[], pick: (...n: number[]) => number) => {
    const v = vals.filter((n): n is number => n !== undefined);
    return v.length > 0 ? pick(...v) : undefined;
  };
  const mes = worst(streams.map((s) => s.mes), Math.min);
  const loss = worst(streams.map((s) => s.loss_pct), Math.max);
  const jitter = worst(streams.map((s) => s.jitter_ms), Math.max);
  const rtt = worst([caller?.rtt_ms, agent?.rtt_ms], Math.max);
  const t0 = cf && num(cf, 't0');
  const answer = cf && num(cf, 'answer');
  const setup = t0 !== undefined && answer !== undefined && answer > 0 && answer >= t0 ? Math.round((answer - t0) * 1000) : undefined;
  const source = (cf?.get('hangupsource') ?? af?.get('hangupsource')) || undefined;
  // No source channel: Asterisk itself ended the call (dialplan Hangup(), a timeout).
  const hangupBy: HangupBy = source === i.channel ? 'caller' : i.dstchannel && source === i.dstchannel ? 'agent' : 'system';
  const sipCause = cf?.get('dialedcause') || undefined;
  return {
    ...(caller ? { caller } : {}),
    ...(agent ? { agent } : {}),
    ...(mes !== undefined ? { mes } : {}),
    ...(loss !== undefined ? { loss_pct: loss } : {}),
    ...(jitter !== undefined ? { jitter_ms: jitter } : {}),
    ...(rtt !== undefined ? { rtt_ms: rtt } : {}),
    ...((caller?.codec ?? agent?.codec) ? { codec: caller?.codec ?? agent?.codec } : {}),
    ...(setup !== undefined ? { setup_ms: setup } : {}),
    ...(sipCause ? { sip_cause: sipCause } : {}),
    ...(caller?.hangup_cause !== undefined ? { hangup_cause: caller.hangup_cause } : {}),
    hangup_by: hangupBy,
    ...(source ? { hangup_source: source } : {}),
    ...(i.channel ? { trunk: i.channel.replace(/-[0-9a-f]+$/, '') } : {}),
  };
}
