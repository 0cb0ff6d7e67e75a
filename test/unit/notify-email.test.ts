// E-mail through a local SMTP receiver (smtp-server, no TLS, auth optional).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { EmailNotifier } from '../../src/abandon/notifiers/email.js';
import { DeliveryError } from '../../src/abandon/notifiers/types.js';
import { Outbox } from '../../src/abandon/outbox.js';
import { captureLog, freePort, sampleNotification, sampleRecord, tempDir, waitUntil } from './notify-helpers.js';

interface Mail {
  from: string;
  to: string[];
  raw: string;
}

type SmtpError = Error & { responseCode?: number };
const smtpError = (code: number, message: string): SmtpError => Object.assign(new Error(message), { responseCode: code });

async function startSmtp(opts: Partial<SMTPServerOptions> = {}, port = 0): Promise<{ url: string; mails: Mail[]; close(): Promise<void> }> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
        cb();
      });
    },
    ...opts,
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const p = (server.server.address() as AddressInfo).port;
  return { url: `smtp://127.0.0.1:${p}`, mails, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const header = (raw: string, name: string) => new RegExp(`^${name}: (.*(?:\\r\\n[ \\t].*)*)`, 'mi').exec(raw)?.[1]?.replace(/\r\n[ \t]/g, ' ');
const to = ['lead@example.com', 'team@example.com'];

test('one e-mail per notification; Message-ID from the idempotency key; a follow-up threads under the first', async (t) => {
  const smtp = await startSmtp();
  t.after(() => smtp.close());
  const mailer = new EmailNotifier({ smtpUrl: smtp.url, from: 'PBX <pbx@example.com>', to });
  t.after(() => mailer.close());
  const n = sampleNotification();
  await mailer.send(n);
  assert.equal(smtp.mails.length, 1);
  const m = smtp.mails[0]!;
  assert.equal(m.from, 'pbx@example.com');
  assert.deepEqual(m.to, to);
  assert.equal(header(m.raw, 'Message-ID'), `<${n.id}@example.com>`);
  assert.equal(header(m.raw, 'X-Sticky-Idempotency-Key'), n.id);
  assert.equal(header(m.raw, 'Subject'), 'Missed call from +380961234567 on line 5551000, queue support, waited 34 s');
  assert.match(m.raw, /Sticky agent: 1002 \(the agent they last spoke to\)/);
  assert.match(m.raw, /Waited: 34 s in the queue/);

  const later = sampleRecord({ uniqueid: '1763726700.30', '@timestamp': '2026-11-21T12:05:00.000Z' });
  await mailer.send({ ...n, id: `abandon-${n.groupId}-2`, seq: 2, count: 3, latest: later });
  const f = smtp.mails[1]!;
  assert.equal(header(f.raw, 'Subject'), '3 missed calls from +380961234567 since 12:00 UTC');
  assert.equal(header(f.raw, 'In-Reply-To'), `<${n.id}@example.com>`);
  assert.equal(header(f.raw, 'Message-ID'), `<abandon-${n.groupId}-2@example.com>`);
});

test('SMTP replies decide: 5xx permanent, 4xx and connection refused retryable, auth failure retryable', async (t) => {
  const n = sampleNotification();
  const rejectAll = await startSmtp({ onRcptTo: (_a, _s, cb) => cb(smtpError(550, 'No such user')) });
  t.after(() => rejectAll.close());
  const busy = await startSmtp({ onData: (stream, _s, cb) => { stream.resume(); stream.on('end', () => cb(smtpError(451, 'Try again later'))); } });
  t.after(() => busy.close());
  const auth = await startSmtp({ authOptional: false, onAuth: (_a, _s, cb) => cb(smtpError(535, 'Authentication failed')) });
  t.after(() => auth.close());
  const down = await freePort();

  const attempt = async (url: string, permanent: boolean, message: RegExp) => {
    const mailer = new EmailNotifier({ smtpUrl: url, from: 'pbx@example.com', to, timeoutMs: 2000 });
    try {
      await assert.rejects(mailer.send(n), (e: unknown) => {
        assert.ok(e instanceof DeliveryError);
        assert.equal(e.permanent, permanent, e.message);
        assert.match(e.message, message);
        return true;
      });
    } finally {
      mailer.close();
    }
  };
  await attempt(rejectAll.url, true, /SMTP 550/);
  await attempt(busy.url, false, /SMTP 451/);
  await attempt(auth.url.replace('smtp://', 'smtp://pbx:wrong@'), false, /SMTP 535/);
  await attempt(`smtp://127.0.0.1:${down}`, false, /ECONNECTION|ESOCKET|ECONNREFUSED/);
});

test('SMTP receiver down, then up on the same port: the outbox delivers every e-mail once', async (t) => {
  const tmp = tempDir();
  t.after(() => tmp.remove());
  const port = await freePort();
  const cap = captureLog();
  const outbox = new Outbox({
    dataDir: tmp.dir,
    notifiers: [new EmailNotifier({ smtpUrl: `smtp://127.0.0.1:${port}`, from: 'pbx@example.com', to, timeoutMs: 2000 })],
    dedupeWindowMs: 0,
    log: cap.log,
    backoffBaseMs: 50,
    backoffCapMs: 300,
  });
  t.after(() => outbox.stop());
  outbox.start();
  const ids = ['+12025550101', '+12025550102', '+12025550103'].map((e164, i) => outbox.enqueue(sampleRecord({ uniqueid: `m${i}`, caller: { raw: e164, e164 } })).notificationId);
  await new Promise((r) => setTimeout(r, 800));
  assert.equal(outbox.counts().email?.pending, 3);
  const smtp = await startSmtp({}, port);
  t.after(() => smtp.close());
  await waitUntil(() => outbox.counts().email?.pending === 0, 5000, 'all e-mails delivered');
  const got = smtp.mails.map((m) => header(m.raw, 'Message-ID'));
  assert.deepEqual(got.sort(), ids.map((id) => `<${id}@example.com>`).sort());
});
