// 7. Every invalid environment value stops start-up with a clear message naming
// the variable and exit code 78 (EX_CONFIG), before anything connects. Each row
// runs `sticky-router start` with a valid environment except for the value under
// test; ARI, AMI, Elasticsearch and the notifiers all point at a canary listener
// of the row's own that counts connection attempts: it must count none.
import { createServer, type Server } from 'node:net';
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildRouter, ref, runRouterOnce, type Ctx, type Scenario } from './lib.js';

interface Row {
  group: string;
  /** Variables set (or unset with undefined) on top of the valid base. */
  env: Record<string, string | undefined>;
  /** The variable(s) the message must name. */
  names: string[];
  /** A value that must not be echoed (a secret). */
  secret?: string;
}

const v = (group: string, name: string, value: string | undefined, extra: Record<string, string | undefined> = {}, names = [name], secret?: string): Row => ({ group, env: { ...extra, [name]: value }, names, secret });

function rows(outDir: string): Row[] {
  const routesMissing = join(outDir, 'no-such-routes.json');
  const routesBadJson = join(outDir, 'routes-bad.json');
  const routesBadValue = join(outDir, 'routes-bad-window.json');
  writeFileSync(routesBadJson, '{ "default": { "window": "PT10M", }');
  writeFileSync(routesBadValue, JSON.stringify({ default: { window: '30m' }, dids: { '100': { ringTimeout: 'PT5S' } } }));
  const smtp = { SMTP_URL: 'smtp://127.0.0.1:9', NOTIFY_EMAIL_TO: 'a@example.com' };
  return [
    ...['30m', 'PT0S', '-PT5M', 'P', '1800', 'PT30M junk'].map((x) => v('duration', 'STICKY_WINDOW', x)),
    ...['abc', '20'].map((x) => v('duration', 'AGENT_RING_TIMEOUT', x)),
    ...['300ms', 'PT0S', '-PT0.3S'].map((x) => v('duration', 'LOOKUP_TIMEOUT', x)),
    v('duration', 'JOURNAL_RETENTION', '7d'),
    ...['ten minutes', '-PT1M'].map((x) => v('duration', 'NOTIFY_DEDUPE_WINDOW', x)),
    ...['0', '65536', 'abc', '50.38', '-1', '5038x'].map((x) => v('port', 'AMI_PORT', x)),
    ...['-1', '70000', 'http', '80.5'].map((x) => v('port', 'HTTP_PORT', x)),
    ...['ftp://127.0.0.1:8088', 'localhost:8088', 'http://127.0.0.1:8088/ari', 'not a url', 'http://'].map((x) => v('url', 'ARI_URL', x)),
    ...['elastic:9200', 'ftp://127.0.0.1:9200', '127.0.0.1:9200'].map((x) => v('url', 'ES_NODE', x)),
    ...['javascript:alert(1)', 'http://', 'hooks.example.com/x'].map((x) => v('url', 'NOTIFY_WEBHOOK_URL', x, { NOTIFY_WEBHOOK_SECRET: 'a-valid-webhook-secret-0123' })),
    v('url', 'SLACK_WEBHOOK_URL', 'hooks.slack.com/services/relSlackBad', {}, ['SLACK_WEBHOOK_URL'], 'relSlackBad'),
    v('url', 'TELEGRAM_API_URL', 'api.telegram.org', { TELEGRAM_BOT_TOKEN: '123:abc', TELEGRAM_CHAT_ID: '-100123' }),
    v('url', 'SMTP_URL', 'http://relSmtpBad@mail.example.com', { NOTIFY_EMAIL_TO: 'a@example.com' }, ['SMTP_URL'], 'relSmtpBad'),
    ...['XX', 'usa', 'us', 'EU', 'UK', '380'].map((x) => v('region', 'DEFAULT_COUNTRY', x)),
    ...['verbose', 'INFO', 'warning'].map((x) => v('log level', 'LOG_LEVEL', x)),
    v('log', 'LOG_FORMAT', 'text'),
    ...['maybe', 'TRUE'].map((x) => v('log', 'LOG_REDACT_NUMBERS', x)),
    ...['CDR', '_cdr', 'cdr*', 'cdr prefix', '-cdr', 'cdr,other'].map((x) => v('prefix', 'ES_INDEX_PREFIX', x)),
    ...['sticky router', 'app,x'].map((x) => v('name', 'ARI_APP', x)),
    ...['ivr,s', 'ivr;x'].map((x) => v('name', 'FALLBACK_CONTEXT', x)),
    v('name', 'FALLBACK_EXTENSION', 's~x'),
    ...['^PJSIP/(\\d+', '^PJSIP/\\d+-', '^(PJSIP)/(\\d+)-', '['].map((x) => v('AGENT_CHANNEL_PATTERN', 'AGENT_CHANNEL_PATTERN', x)),
    ...['-1', '1.5', 'x'].map((x) => v('number', 'MIN_TALK_SECONDS', x)),
    v('secret', 'HTTP_TOKEN', 'tooShortTok1', {}, ['HTTP_TOKEN'], 'tooShortTok1'),
    ...['ARI_USERNAME', 'ARI_PASSWORD', 'AMI_USERNAME', 'AMI_PASSWORD'].map((n) => v('required', n, undefined)),
    v('ES credentials', 'ES_USERNAME', 'elastic', {}, ['ES_PASSWORD']),
    v('ES credentials', 'ES_API_KEY', 'some-key', { ES_USERNAME: 'elastic', ES_PASSWORD: 'pw' }, ['ES_API_KEY']),
    v('ES credentials', 'ES_API_KEY', 'some-key', { ES_NODE: undefined }, ['ES_API_KEY']),
    v('notifier', 'NOTIFY_WEBHOOK_SECRET', 'tooShortSecret1', { NOTIFY_WEBHOOK_URL: 'http://127.0.0.1:9/hook' }, ['NOTIFY_WEBHOOK_SECRET'], 'tooShortSecret1'),
    v('notifier', 'NOTIFY_WEBHOOK_URL', 'http://127.0.0.1:9/hook', {}, ['NOTIFY_WEBHOOK_SECRET']),
    v('notifier', 'NOTIFY_WEBHOOK_SECRET', 'a-valid-webhook-secret-0123', {}, ['NOTIFY_WEBHOOK_URL']),
    v('notifier', 'TELEGRAM_BOT_TOKEN', 'bot123:relTgBad', { TELEGRAM_CHAT_ID: '-100123' }, ['TELEGRAM_BOT_TOKEN'], 'relTgBad'),
    v('notifier', 'TELEGRAM_BOT_TOKEN', '123:abc', {}, ['TELEGRAM_CHAT_ID']),
    v('notifier', 'TELEGRAM_CHAT_ID', 'abc', { TELEGRAM_BOT_TOKEN: '123:abc' }),
    v('notifier', 'NOTIFY_EMAIL_TO', 'not-an-email', { SMTP_URL: 'smtp://127.0.0.1:9' }),
    v('notifier', 'NOTIFY_EMAIL_FROM', 'x', smtp),
    v('notifier', 'SMTP_URL', 'smtp://127.0.0.1:9', {}, ['NOTIFY_EMAIL_TO']),
    { group: 'several at once', env: { STICKY_WINDOW: '30m', AMI_PORT: '0', LOG_LEVEL: 'loud' }, names: ['STICKY_WINDOW', 'AMI_PORT', 'LOG_LEVEL'] },
    // Not covered by the zod schema in src/config.ts: checked later, or not at all.
    v('routes file', 'ROUTES_FILE', routesMissing),
    v('routes file', 'ROUTES_FILE', routesBadJson),
    v('routes file', 'ROUTES_FILE', routesBadValue),
    ...['not a host!', '999.1.1.1'].map((x) => v('host', 'HTTP_HOST', x)),
    v('host', 'AMI_HOST', 'no such host.invalid'),
    ...['/proc/sticky-router-data', '/etc/hostname/data'].map((x) => v('path', 'DATA_DIR', x)),
  ];
}

/** Where each variable the schema does not cover goes wrong, for the report. */
const rootCause: Record<string, string> = {
  AMI_PORT: `The message for a non-numeric value is zod's fallback ("expected Invalid input: expected number, received NaN"), not the "integer TCP port 1-65535" the other port errors give: ${ref('src/config.ts', 'const port = z.coerce.number()')} z.coerce.number() has no error message for NaN. Fix: z.coerce.number({ error: 'an integer TCP port 1-65535' }) (same for HTTP_PORT at ${ref('src/config.ts', 'HTTP_PORT: z.coerce')} and MIN_TALK_SECONDS at ${ref('src/config.ts', 'MIN_TALK_SECONDS: z.coerce')}).`,
  HTTP_PORT: `Same as AMI_PORT: ${ref('src/config.ts', 'HTTP_PORT: z.coerce')} z.coerce.number() without an error message for NaN.`,
  MIN_TALK_SECONDS: `Same as AMI_PORT: ${ref('src/config.ts', 'MIN_TALK_SECONDS: z.coerce')} z.coerce.number() without an error message for NaN.`,
  ROUTES_FILE: `src/config.ts only checks that ROUTES_FILE is a non-empty string; the file is read and validated in DidPolicies.load (${ref('src/routing/did-policy.ts', 'static load(')}, throwing a plain Error) from startApp (${ref('src/app.ts', 'DidPolicies.load(config)')}), and ${ref('src/cli/start.ts', 'app = await startApp(')} only maps AriAuthError/AmiAuthError, so the error escapes as an unhandled rejection: exit 1 with a stack trace instead of exit 78 and a \`config: ROUTES_FILE=… is invalid: expected …\` line. Fix: in start.ts, load the routes file right after configOrExit() (or make DidPolicies.load throw ConfigError in the config line format) and exitWith(message, 78).`,
  HTTP_HOST: `${ref('src/config.ts', 'HTTP_HOST: z.string()')} accepts any non-empty string; the listen failure (${ref('src/http/server.ts', 'cannot listen on HTTP_HOST')}) escapes startApp as an unhandled rejection: exit 1 with a stack trace. Fix: validate HTTP_HOST as an IP literal or RFC 1123 host name in the schema (net.isIP(v) || /^(?=.{1,253}$)[A-Za-z0-9-]{1,63}(\\.[A-Za-z0-9-]{1,63})*$/), and map a listen error in start.ts to a one-line message.`,
  AMI_HOST: `${ref('src/config.ts', 'AMI_HOST: z.string()')} accepts any non-empty string. startApp then installs ES templates (contacting Elasticsearch) and AmiConnection.start → connectOnce (${ref('src/ami/connection.ts', 'private async connectOnce')}) rethrows getaddrinfo ENOTFOUND as a non-auth error, which start.ts does not catch: an unhandled rejection (exit 1, stack trace) after having contacted ES — or, against a cluster that resets connections, no exit within 25 s. Fix: validate AMI_HOST as an IP literal or host name in the schema (same rule as HTTP_HOST).`,
  DATA_DIR: `${ref('src/config.ts', 'DATA_DIR: z.string()')} accepts any non-empty string; new Journal() (${ref('src/cdr/journal.ts', 'mkdirSync(dataDir')}, from ${ref('src/app.ts', 'new Journal(config.DATA_DIR)')}) calls mkdirSync(dataDir, { recursive: true }) inside startApp: a path under a file exits 1 with an ENOTDIR stack trace, and a path under /proc makes Node 20's recursive mkdir spin on ENOENT forever (100% CPU, no output, never exits). Fix: in start.ts, before startApp, check the directory (mkdir non-recursively up from the nearest existing parent, then fs.accessSync(W_OK) and a probe file) and exit 78 with \`config: DATA_DIR=… is invalid: expected a writable directory\`.`,
};

interface Canary {
  port: number;
  connections: number;
  close(): Promise<void>;
}

async function canary(): Promise<Canary> {
  const c = { connections: 0 } as Canary;
  const server: Server = createServer((s) => {
    c.connections++;
    s.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  c.port = (server.address() as { port: number }).port;
  c.close = () => new Promise<void>((r) => server.close(() => r()));
  return c;
}

export interface ConfigRowResult {
  row: Row;
  code: number | null;
  ms: number;
  message: string;
  connections: number;
  ok: boolean;
  why: string[];
}

export async function s7Config(ctx: Ctx, sc: Scenario): Promise<ConfigRowResult[]> {
  const table = rows(ctx.outDir);
  const t0 = Date.now();
  const main = buildRouter();
  sc.figure('src/ compiled for the table (tsc, tsconfig.build.json)', `${Date.now() - t0} ms`);
  const results: ConfigRowResult[] = [];
  let next = 0;
  const worker = async () => {
    while (next < table.length) {
      const row = table[next++]!;
      const c = await canary();
      const url = `http://127.0.0.1:${c.port}`;
      const base: Record<string, string | undefined> = {
        ARI_URL: url,
        ARI_USERNAME: 'sticky',
        ARI_PASSWORD: 'sticky-ari-secret',
        AMI_HOST: '127.0.0.1',
        AMI_PORT: String(c.port),
        AMI_USERNAME: 'sticky',
        AMI_PASSWORD: 'sticky-ami-secret',
        ES_NODE: url,
        HTTP_PORT: '0',
        DATA_DIR: join(ctx.outDir, `s7-data-${next}`),
        LOG_FORMAT: 'json',
      };
      const env = { ...base, ...row.env };
      for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
      const r = await runRouterOnce(ctx, `s7-${row.names.join('+')}=${JSON.stringify(row.env[row.names[0]!] ?? '')}`, env as Record<string, string>, 25_000, main);
      await new Promise((res) => setTimeout(res, 200));
      const connections = c.connections;
      await c.close();
      const lines = r.stderr.trim().split('\n').filter(Boolean);
      const why: string[] = [];
      if (r.code !== 78) why.push(`exit ${r.code ?? r.signal}`);
      for (const n of row.names) if (!lines.some((l) => l.startsWith(`config: ${n}=`) && /is invalid: expected /.test(l))) why.push(`no "config: ${n}=… is invalid: expected …" line`);
      // Clear = says what is expected in the variable's own terms; zod's fallback text does not.
      const named = lines.filter((l) => row.names.some((n) => l.startsWith(`config: ${n}=`)));
      if (named.some((l) => /expected Invalid input: expected number, received NaN/.test(l))) why.push('unclear message: zod\'s generic "expected Invalid input: expected number, received NaN"');
      if (connections > 0) why.push(`${connections} connection(s) to ARI/AMI/ES before exiting`);
      if (row.secret && (r.stderr + r.stdout).includes(row.secret)) why.push('secret value echoed');
      const message = lines.find((l) => row.names.some((n) => l.includes(n))) ?? lines.find((l) => /error|Error/.test(l)) ?? lines[0] ?? r.stdout.trim().split('\n')[0] ?? '';
      results.push({ row, code: r.code, ms: r.ms, message: message.slice(0, 220), connections, ok: why.length === 0, why });
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  results.sort((a, b) => table.indexOf(a.row) - table.indexOf(b.row));
  rmSync(dirname(dirname(dirname(main))), { recursive: true, force: true });
  for (const r of results) {
    const shown = Object.entries(r.row.env).map(([k, x]) => `${k}=${x === undefined ? '(unset)' : JSON.stringify(x)}`).join(' ');
    sc.check(`${shown} → exit 78 naming ${r.row.names.join(', ')}, nothing contacted`, r.ok, r.ok ? `${r.ms} ms` : r.why.join('; '));
  }
  const failing = new Map<string, ConfigRowResult[]>();
  for (const r of results.filter((x) => !x.ok)) for (const n of r.row.names) failing.set(n, [...(failing.get(n) ?? []), r]);
  for (const [name, rs] of failing) {
    const what = rs.map((r) => `${JSON.stringify(r.row.env[name] ?? '(unset)')} → ${r.why.join(', ')}`).join('; ');
    sc.bug(`${name}: ${what}. ${rootCause[name] ?? 'Not validated by the schema in src/config.ts; add it there so start-up stops with exit 78.'}`);
  }
  sc.figure('invalid values tried', results.length);
  sc.figure('stopped with exit 78 and a line naming the variable, before connecting', results.filter((r) => r.ok).length);
  sc.figure('slowest exit', `${Math.max(...results.map((r) => r.ms))} ms (compiled CLI; rows are killed after 25 s)`);
  sc.figure('connections to the canaries (ARI/AMI/ES/notifiers) across all rows', results.reduce((n, r) => n + r.connections, 0));
  return results;
}
