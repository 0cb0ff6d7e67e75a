// A PCMU (G.711 µ-law) RTP stream as a pcap file, for sipp's play_pcap_audio:
// a sine tone at `hz` for `seconds`, 20 ms per packet (160 samples), with real
// sequence numbers and timestamps. sipp replays the RTP payloads at the pcap's
// pace, so the tone reaches Asterisk as a phone's audio would.
import { writeFileSync } from 'node:fs';

/** ITU-T G.711 µ-law encoding of one 16-bit linear sample. */
export function linearToUlaw(sample: number): number {
  const BIAS = 0x84;
  const CLIP = 32635;
  let s = Math.max(-32768, Math.min(32767, Math.round(sample)));
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  if (s > CLIP) s = CLIP;
  s += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

export function writePcmuPcap(file: string, opts: { seconds: number; hz: number; amplitude?: number; ssrc?: number }): void {
  const packets = Math.round((opts.seconds * 1000) / 20);
  const amp = opts.amplitude ?? 8000;
  const ssrc = opts.ssrc ?? 0x5eed1234;
  const chunks: Buffer[] = [];
  const global = Buffer.alloc(24);
  global.writeUInt32LE(0xa1b2c3d4, 0); // microsecond pcap, little-endian
  global.writeUInt16LE(2, 4);
  global.writeUInt16LE(4, 6);
  global.writeUInt32LE(65535, 16); // snaplen
  global.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  chunks.push(global);
  const t0 = 1_700_000_000;
  for (let p = 0; p < packets; p++) {
    const payload = Buffer.alloc(160);
    for (let i = 0; i < 160; i++) payload[i] = linearToUlaw(amp * Math.sin((2 * Math.PI * opts.hz * (p * 160 + i)) / 8000));
    const rtp = Buffer.alloc(12);
    rtp[0] = 0x80;
    rtp[1] = p === 0 ? 0x80 : 0x00; // marker on the first packet, PT 0 (PCMU)
    rtp.writeUInt16BE(p & 0xffff, 2);
    rtp.writeUInt32BE((p * 160) >>> 0, 4);
    rtp.writeUInt32BE(ssrc, 8);
    const udpLen = 8 + 12 + 160;
    const udp = Buffer.alloc(8);
    udp.writeUInt16BE(6000, 0);
    udp.writeUInt16BE(7000, 2);
    udp.writeUInt16BE(udpLen, 4);
    const ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + udpLen, 2);
    ip[8] = 64;
    ip[9] = 17; // UDP
    ip.writeUInt32BE(0x7f000001, 12);
    ip.writeUInt32BE(0x7f000001, 16);
    let sum = 0;
    for (let i = 0; i < 20; i += 2) sum += ip.readUInt16BE(i);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    ip.writeUInt16BE(~sum & 0xffff, 10);
    const eth = Buffer.alloc(14);
    eth.writeUInt16BE(0x0800, 12);
    const frame = Buffer.concat([eth, ip, udp, rtp, payload]);
    const rec = Buffer.alloc(16);
    const us = p * 20_000;
    rec.writeUInt32LE(t0 + Math.floor(us / 1e6), 0);
    rec.writeUInt32LE(us % 1e6, 4);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    chunks.push(rec, frame);
  }
  writeFileSync(file, Buffer.concat(chunks));
}

/** Goertzel power of `hz` in 16-bit mono samples at `rate`, normalised per sample. */
export function tonePower(samples: Int16Array, rate: number, hz: number): number {
  const k = 2 * Math.cos((2 * Math.PI * hz) / rate);
  let s1 = 0;
  let s2 = 0;
  for (const x of samples) {
    const s0 = x + k * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return (s1 * s1 + s2 * s2 - k * s1 * s2) / samples.length;
}
