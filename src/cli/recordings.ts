// `sticky-router recordings <number> [--json]`: a caller's recorded calls, newest
// first, with playable links. The links are signed by the running router (its
// link secret is random per start unless RECORDINGS_LINK_SECRET is set), so this
// command asks the router's API, as any client would, with RECORDINGS_TOKEN or
// HTTP_TOKEN.
import type { Command } from 'commander';
import { configOrExit, exitWith } from './config-exit.js';
import type { RecordingAnswer } from '../recordings/links.js';

export function registerRecordings(program: Command): void {
  program
    .command('recordings <number>')
    .description("list a caller's recorded calls with signed links, from the running router (GET /v1/recordings)")
    .option('--from <iso>', 'only calls since this time (ISO-8601)')
    .option('--to <iso>', 'only calls before this time (ISO-8601)')
    .option('--agent <ext>', "only this agent's calls")
    .option('--router <url>', 'the router\'s HTTP endpoint (default http://HTTP_HOST:HTTP_PORT)')
    .option('--json', 'print the API\'s JSON answer')
    .action(async (number: string, opts: { from?: string; to?: string; agent?: string; router?: string; json?: boolean }) => {
      const config = configOrExit(process.env, ['HTTP_HOST', 'HTTP_PORT', 'HTTP_TOKEN']);
      const token = process.env.RECORDINGS_TOKEN || config.HTTP_TOKEN;
      if (!token) exitWith('recordings: set RECORDINGS_TOKEN (or HTTP_TOKEN) to the router\'s token', 78);
      const host = config.HTTP_HOST === '0.0.0.0' ? '127.0.0.1' : config.HTTP_HOST === '::' ? '::1' : config.HTTP_HOST;
      const base = opts.router ?? `http://${host.includes(':') ? `[${host}]` : host}:${config.HTTP_PORT}`;
      const url = new URL('/v1/recordings', base);
      url.searchParams.set('number', number);
      if (opts.from) url.searchParams.set('from', opts.from);
      if (opts.to) url.searchParams.set('to', opts.to);
      if (opts.agent) url.searchParams.set('agent', opts.agent);
      let res: Response;
      try {
        res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
      } catch (err) {
        exitWith(`recordings: the router at ${url.origin} did not answer: ${(err as Error).message} (is it running? --router)`, 1);
      }
      const text = await res.text();
      if (!res.ok) {
        let msg = text.slice(0, 300);
        try {
          msg = (JSON.parse(text) as { error?: string }).error ?? msg;
        } catch {
          // not JSON: show it as is
        }
        const hint = res.status === 404 ? ' (is RECORDINGS=on in the router?)' : '';
        exitWith(`recordings: ${res.status} from ${url.origin}: ${msg}${hint}`, res.status === 401 || res.status === 403 ? 2 : res.status === 400 ? 64 : 1);
      }
      if (opts.json) {
        process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
        return;
      }
      const { recordings } = JSON.parse(text) as { recordings: RecordingAnswer[] };
      if (recordings.length === 0) {
        process.stdout.write(`no recordings for ${number}\n`);
        return;
      }
      for (const r of recordings) {
        process.stdout.write(`${r.started_at}  ${(r.number ?? '').padEnd(16)} agent ${(r.agent ?? '-').padEnd(6)} ${r.duration_s.toFixed(1).padStart(7)} s  ${r.uniqueid}\n  ${r.url}\n  (link valid until ${r.expires_at})\n`);
      }
    });
}
