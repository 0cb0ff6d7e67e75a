// What integration tests need from the running harness.
import { harnessEnv } from '../harness/credentials.js';
import { cdrStoreFile, queueLogFile } from '../harness/paths.js';
import { existsSync, readFileSync } from 'node:fs';
import { poll } from './wait.js';

export { harnessEnv };

/** The router's view of Asterisk's own records in the harness (README: Nothing lost). */
export const backfillEnv = { ASTERISK_CDR_DB: cdrStoreFile, ASTERISK_QUEUE_LOG: queueLogFile } as const;

const auth = `Basic ${Buffer.from(`${harnessEnv.ARI_USERNAME}:${harnessEnv.ARI_PASSWORD}`).toString('base64')}`;

export async function ariGet<T>(path: string): Promise<T> {
  const res = await fetch(`${harnessEnv.ARI_URL}/ari${path}`, { headers: { authorization: auth } });
  if (!res.ok) throw new Error(`ARI GET ${path}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

/** Waits until Asterisk's qualify marks the agent's endpoint online or offline. */
export async function waitEndpointState(agent: string, state: 'online' | 'offline', timeoutMs = 15_000): Promise<void> {
  await poll(() => ariGet<{ state: string }>(`/endpoints/PJSIP/${agent}`), (ep) => ep.state === state, timeoutMs, `endpoint PJSIP/${agent} ${state}`, 200);
}

export async function waitChannelsGone(timeoutMs = 10_000): Promise<void> {
  await poll(() => ariGet<{ name: string; state: string; dialplan?: { context: string } }[]>('/channels'), (chans) => chans.length === 0, timeoutMs, 'no channels up', 100);
}

export function queueLogLines(): string[][] {
  if (!existsSync(queueLogFile)) return [];
  return readFileSync(queueLogFile, 'utf8').split('\n').filter(Boolean).map((l) => l.split('|'));
}

/** A clean PBX for the next test file: hang up whatever an aborted scenario left behind. */
export async function hangupAllChannels(): Promise<void> {
  const chans = await ariGet<{ id: string }[]>('/channels');
  await Promise.all(chans.map((c) => fetch(`${harnessEnv.ARI_URL}/ari/channels/${encodeURIComponent(c.id)}`, { method: 'DELETE', headers: { authorization: auth } })));
  await waitChannelsGone(5000);
}

/**
 * Starts agent `ext`'s phone and waits until Asterisk's qualify has seen *this*
 * phone: a phone stopped by the previous test still reads online until the next
 * qualify fails, so wait for offline first, then online.
 */
export async function phoneUp<T>(ext: string, start: () => Promise<T>): Promise<T> {
  await waitEndpointState(ext, 'offline');
  const phone = await start();
  await waitEndpointState(ext, 'online');
  return phone;
}
