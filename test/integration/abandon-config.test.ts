// A bad notifier setting stops `sticky-router start` before it connects to
// anything: exit 78, one line per bad variable naming it, secrets never echoed.
// ARI and AMI point at local listeners that count connections: none may arrive.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', '..');
const SECRET = 'do-not-echo-this-webhook-secret-9f3a';
let ariListener: Server;
let amiListener: Server;
let connections = 0;
let ariPort = 0;
let amiPort = 0;
let scratch: string;

async function listen(): Promise<[Server, number]> {
  const s = createServer((sock) => {
    connections++;
    sock.destroy();
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return [s, (s.address() as AddressInfo).port];
}

before(async () => {
  [ariListener, ariPort] = await listen();
  [amiListener, amiPort] = await listen();
  scratch = mkdtempSync(join(tmpdir(), 'sticky-cfg-'));
});

after(async () => {
  await new Promise((r) => ariListener?.close(r));
  await new Promise((r) => amiListener?.close(r));
  rmSync(scratch, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  dataDir: string;
}

function start(notifyEnv: Record<string, string>): Promise<Run> {
  const dataDir = join(scratch, `data-${Math.random().toString(36).slice(2)}`);
  const t0 = Date.now();
  const proc = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'start'], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      // Valid router settings: only the notifier variables are wrong.
      ARI_URL: `http://127.0.0.1:${ariPort}`,
      ARI_USERNAME: 'sticky',
      ARI_PASSWORD: 'sticky-ari-secret',
      AMI_HOST: '127.0.0.1',
      AMI_PORT: String(amiPort),
      AMI_USERNAME: 'sticky',
      AMI_PASSWORD: 'sticky-ami-secret',
      HTTP_PORT: '0',
      DATA_DIR: dataDir,
      LOG_FORMAT: 'json',
      ...notifyEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const killer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
  return new Promise((done) =>
    proc.on('exit', (code) => {
      clearTimeout(killer);
      done({ code, stdout, stderr, ms: Date.now() - t0, dataDir });
    }),
  );
}

const cases: { name: string; env: Record<string, string>; lines: RegExp[]; secrets: string[] }[] = [
  {
    name: 'malformed NOTIFY_WEBHOOK_URL',
    env: { NOTIFY_WEBHOOK_URL: 'not a url', NOTIFY_WEBHOOK_SECRET: SECRET },
    lines: [/^config: NOTIFY_WEBHOOK_URL=<redacted> is invalid: expected an http\(s\) URL, e\.g\. https:\/\/\S+$/],
    secrets: [SECRET],
  },
  {
    name: 'NOTIFY_WEBHOOK_URL set, NOTIFY_WEBHOOK_SECRET missing',
    env: { NOTIFY_WEBHOOK_URL: 'https://crm.example.com/hooks/abandon' },
    lines: [/^config: NOTIFY_WEBHOOK_SECRET=\(unset\) is invalid: expected .*required when NOTIFY_WEBHOOK_URL is set\)$/],
    secrets: [],
  },
  {
    name: 'NOTIFY_WEBHOOK_SECRET too short (redacted, not echoed)',
    env: { NOTIFY_WEBHOOK_URL: 'https://crm.example.com/hooks/abandon', NOTIFY_WEBHOOK_SECRET: 'short-secret-42' },
    lines: [/^config: NOTIFY_WEBHOOK_SECRET=<redacted> is invalid: expected a shared secret of at least 16 characters/],
    secrets: ['short-secret-42'],
  },
  {
    name: 'two bad variables → two lines; credentials in URLs and tokens are not echoed',
    env: { SMTP_URL: 'smtp://pbx:smtp-pass-7731@mail.example.com:587', TELEGRAM_BOT_TOKEN: 'bot123:bad token', TELEGRAM_CHAT_ID: '-100123' },
    lines: [
      /^config: TELEGRAM_BOT_TOKEN=<redacted> is invalid: expected a bot token/,
      /^config: NOTIFY_EMAIL_TO=\(unset\) is invalid: expected .*required when SMTP_URL is set\)$/,
    ],
    secrets: ['smtp-pass-7731', 'bad token'],
  },
];

for (const c of cases) {
  test(`bad notifier setting stops start-up: ${c.name}`, async () => {
    const before = connections;
    const r = await start(c.env);
    const out = r.stdout + r.stderr;
    assert.equal(r.code, 78, `exit 78 (EX_CONFIG); got ${r.code}: ${out}`);
    const lines = r.stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, c.lines.length, `one line per bad variable:\n${r.stderr}`);
    for (const re of c.lines) assert.ok(lines.some((l) => re.test(l)), `a line matching ${re}:\n${r.stderr}`);
    assert.equal(r.stdout, '', 'nothing logged: the logger never started');
    for (const s of c.secrets) assert.ok(!out.includes(s), `"${s}" is not echoed`);
    // Before anything connects: no connection reached ARI's or AMI's port, nothing was
    // written to DATA_DIR, and the exit is immediate (node + tsx start-up only).
    assert.equal(connections - before, 0, 'no connection to ARI or AMI was attempted');
    assert.equal(existsSync(r.dataDir), false, 'DATA_DIR not created (journal and outbox not opened)');
    assert.ok(r.ms < 8000, `exited in ${r.ms} ms`);
    console.error(`# ${c.name}: exit ${r.code} in ${r.ms} ms: ${lines.join(' / ')}`);
  });
}
