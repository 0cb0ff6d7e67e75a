// Writes a pcap of one PCMU RTP stream (20 ms packets, a 440 Hz tone) for sipp's
// `play_pcap_audio`. sipp replays each packet's RTP header and payload as they are,
// with the pcap's timing, so a sequence number left out of the file is a packet
// Asterisk never receives: real packet loss on the wire, reproducible to the packet.
import { writeFileSync } from 'node:fs';

export interface RtpPcapOptions {
  seconds: number;
  /** Leaves out every Nth packet (10 → 10 % loss); 0 or undefined: none. */
  dropEvery?: number;
  ssrc?: number;
}

export interface RtpPcapInfo {
  file: string;
  packets: number;
  dropped: number;
}

export function writeRtpPcap(file: string, o: RtpPcapOptions): RtpPcapInfo {
  const total = Math.round(o.seconds * 50);
  const ssrc = o.ssrc ?? 0x5eed1234;
  const chunks: Buffer[] = [];
  const global = Buffer.alloc(24);
  global.writeUInt32LE(0xa1b2c3d4, 0);
  global.writeUInt16LE(2, 4);
  global.writeUInt16LE(4, 6);
  global.writeUInt32LE(65535, 16);
  global.writeUInt32LE(1, 20); // DLT_EN10MB
  chunks.push(global);
  let dropped = 0;
  for (let i = 0; i < total; i++) {
    if (o.dropEvery && (i + 1) % o.dropEvery === 0) {
      dropped++;
      continue;
    }
    const payload = Buffer.alloc(160);
    for (let s = 0; s < 160; s++) payload[s] = linearToUlaw(Math.round(8000 * Math.sin((2 * Math.PI * 440 * (i * 160 + s)) / 8000)));
    const rtp = Buffer.alloc(12);
    rtp[0] = 0x80;
    rtp[1] = i === 0 ? 0x80 : 0x00; // marker on the first packet, PT 0 (PCMU)
    rtp.writeUInt16BE((1000 + i) & 0xffff, 2);
    rtp.writeUInt32BE((i * 160) >>> 0, 4);
    rtp.writeUInt32BE(ssrc >>> 0, 8);
    const udpLen = 8 + rtp.length + payload.length;
    const ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + udpLen, 2);
    ip[8] = 64;
    ip[9] = 17;
    Buffer.from([127, 0, 0, 1]).copy(ip, 12);
    Buffer.from([127, 0, 0, 1]).copy(ip, 16);
    ip.writeUInt16BE(ipChecksum(ip), 10);
    const udp = Buffer.alloc(8);
    udp.writeUInt16BE(40000, 0);
    udp.writeUInt16BE(40002, 2);
    udp.writeUInt16BE(udpLen, 4);
    const eth = Buffer.alloc(14);
    eth.writeUInt16BE(0x0800, 12);
    const frame = Buffer.concat([eth, ip, udp, rtp, payload]);
    const rec = Buffer.alloc(16);
    const tUs = i * 20_000;
    rec.writeUInt32LE(Math.floor(tUs / 1e6), 0);
    rec.writeUInt32LE(tUs % 1e6, 4);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    chunks.push(rec, frame);
  }
  writeFileSync(file, Buffer.concat(chunks));
  return { file, packets: total - dropped, dropped };
}

function ipChecksum(h: Buffer): number {
  let sum = 0;
  for (let i = 0; i < h.length; i += 2) sum += h.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

// G.711 mu-law encoder (ITU-T G.711, the usual bias-and-segment form).
function linearToUlaw(sample: number): number {
  const BIAS = 0x84;
  const CLIP = 32635;
  const sign = sample < 0 ? 0x80 : 0;
  let s = Math.min(Math.abs(sample), CLIP) + BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  s = ~(sign | (exponent << 4) | mantissa);
  return s & 0xff;
}
