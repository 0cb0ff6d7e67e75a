// 6. Secrets never appear in a log line. Every router of the run had the ARI and
// AMI passwords, an Elasticsearch API key, a signed-webhook secret, a Slack URL,
// a Telegram token, an SMTP password and an HTTP bearer token; this scenario adds
// short runs that exercise the remaining paths (ES basic auth, ECS format at
// trace level, rejected ARI/AMI credentials, HTTP requests with good and bad
// tokens, notification receivers failing), checks the secrets were really in use
// (on the wire), then scans every byte every router wrote to stdout/stderr.
import { createHmac } from 'node:crypto';
import { call } from '../support/sipp.js';
import { startTcpTap } from '../support/tcp-tap.js';
import { harnessEnv, waitChannelsGone } from '../support/harness.js';
import { addNeedle, lineTime, nanp, runRouterOnce, sleep, spawnRouter, stopRouter, type Ctx, type Scenario } from './lib.js';
import { ref } from './lib.js';

/** Shows where a secret sits in a line without printing it. */
function masked(line: string, secret: string): string {
  return line.split(secret).join('<SECRET>');
}

async function exerciseHttp(port: number, token: string): Promise<number[]> {
  const base = `http://127.0.0.1:${port}`;
  const statuses: number[] = [];
  for (const [path, auth] of [
    ['/metrics', `Bearer ${token}`],
    ['/metrics', 'Bearer wrong-token-0123456789'],
    ['/metrics', `Basic ${Buffer.from(`x:${token}`).toString('base64')}`],
    ['/v1/lookup/%2B12025550110', `Bearer ${token}`],
    ['/readyz', ''],
  ] as const) {
    const res = await fetch(`${base}${path}`, { headers: auth ? { authorization: auth } : {} }).catch(() => undefined);
    statuses.push(res?.status ?? 0);
    await res?.arrayBuffer().catch(() => undefined);
  }
  return statuses;
}

export async function s6Secrets(ctx: Ctx, sc: Scenario): Promise<void> {
  const double = ctx.cluster.double!;
  const esTap = await startTcpTap(Number(new URL(ctx.cluster.node).port));
  const esNode = `http://127.0.0.1:${esTap.port}`;
  const prefix = `${ctx.runId}-s6`;
  try {
    // (a) API key, plain JSON lines, through the tap: the key must be on the wire.
    const a = await spawnRouter(ctx, 's6-apikey', { ES_NODE: esNode, ES_INDEX_PREFIX: prefix });
    const httpPort = Number((a.lines.find((l) => l.msg === 'http listening') as { port?: number } | undefined)?.port);
    const httpStatuses = await exerciseHttp(httpPort, ctx.secrets.env.HTTP_TOKEN!);
    await Promise.all([0, 1, 2].map((i) => call('600', nanp(6, i), { talkMs: 600, timeoutS: 15 })));
    await sleep(3000);
    await stopRouter(a);

    // (b) ES_USERNAME/ES_PASSWORD, ECS lines at trace level (the production format, everything logged).
    const esUser = 'reliability';
    const esPassword = `relEsPassword-${ctx.runId}-${Math.random().toString(36).slice(2)}`;
    addNeedle(ctx, 'ES_PASSWORD', esPassword);
    addNeedle(ctx, 'ES basic-auth header (base64 user:pass) raw', `${esUser}:${esPassword}`);
    const b = await spawnRouter(ctx, 's6-basic-ecs-trace', { ES_NODE: esNode, ES_INDEX_PREFIX: prefix, ES_API_KEY: '', ES_USERNAME: esUser, ES_PASSWORD: esPassword, LOG_FORMAT: 'ecs', LOG_LEVEL: 'trace' }, { waitReady: false });
    await b.waitForLog((l) => l.message === 'sticky-router started', 45_000, 'ecs router start');
    const portB = Number((b.lines.find((l) => l.message === 'http listening') as { port?: number } | undefined)?.port);
    await exerciseHttp(portB, ctx.secrets.env.HTTP_TOKEN!);
    await double.setDown(true);
    await Promise.all([3, 4, 5].map((i) => call('600', nanp(6, i), { talkMs: 600, timeoutS: 15 })));
    await sleep(2000);
    await double.setDown(false);
    await sleep(2000);
    await stopRouter(b);
    await waitChannelsGone(15_000).catch(() => undefined);

    // (c) Rejected credentials: exit 2, and the wrong password is not echoed either.
    const wrongAri = `relWrongAriPassword-${ctx.runId}`;
    const wrongAmi = `relWrongAmiPassword-${ctx.runId}`;
    addNeedle(ctx, 'wrong ARI_PASSWORD', wrongAri);
    addNeedle(ctx, 'wrong AMI_PASSWORD', wrongAmi);
    const base = ctx.routerEnv({ DATA_DIR: `${ctx.outDir}/s6-rejected`, HTTP_PORT: '0', LOG_FORMAT: 'json', LOG_LEVEL: 'debug' });
    const ariRej = await runRouterOnce(ctx, 's6-wrong-ari-password', { ...base, ARI_PASSWORD: wrongAri });
    const amiRej = await runRouterOnce(ctx, 's6-wrong-ami-password', { ...base, AMI_PASSWORD: wrongAmi });
    sc.check('wrong ARI password: exit 2 with a message naming ARI', ariRej.code === 2 && /ARI/.test(ariRej.stderr), `exit ${ariRej.code}: ${ariRej.stderr.trim().split('\n').at(-1)?.slice(0, 160)}`);
    sc.check('wrong AMI password: exit 2 with a message naming AMI', amiRej.code === 2 && /AMI/.test(amiRej.stderr), `exit ${amiRej.code}: ${amiRej.stderr.trim().split('\n').at(-1)?.slice(0, 160)}`);

    // The secrets were in use: on the wire to ES, and at the notification receivers.
    const esWire = esTap.connections.map((c) => esTap.clientText(c)).join('');
    const apiKeyOnWire = esWire.includes(`ApiKey ${ctx.secrets.env.ES_API_KEY}`);
    const basicOnWire = esWire.toLowerCase().includes(`authorization: basic ${Buffer.from(`${esUser}:${esPassword}`).toString('base64')}`.toLowerCase());
    sc.check('Elasticsearch credentials were sent (ApiKey and Basic seen on the wire by a tap; the double accepts any)', apiKeyOnWire && basicOnWire, `ApiKey ${apiKeyOnWire}, Basic ${basicOnWire}`);
    const hooks = ctx.sink.requests.filter((r) => r.channel === 'webhook');
    const validSig = hooks.filter((r) => {
      const ts = String(r.headers['x-sticky-timestamp']);
      return r.headers['x-sticky-signature'] === `v1=${createHmac('sha256', ctx.secrets.env.NOTIFY_WEBHOOK_SECRET!).update(`${ts}.${r.body}`).digest('hex')}`;
    });
    const slack = ctx.sink.requests.filter((r) => r.channel === 'slack');
    const telegram = ctx.sink.requests.filter((r) => r.channel === 'telegram' && r.path.includes(ctx.secrets.env.TELEGRAM_BOT_TOKEN!));
    sc.check('notifier secrets were in use (signed webhooks verified with the secret; Slack and Telegram URLs called)', validSig.length > 0 && validSig.length === hooks.length && slack.length > 0 && telegram.length > 0, `webhook ${validSig.length}/${hooks.length} valid signatures, slack ${slack.length}, telegram ${telegram.length}`);
    sc.figure('HTTP API requests made with the bearer token (good, wrong, token as Basic, lookup, readyz) → status', httpStatuses.join(', '));

    // The scan: every byte every router of the run wrote.
    let bytes = 0;
    let lines = 0;
    const hits: { needle: string; capture: string; excerpt: string }[] = [];
    for (const cap of ctx.captures) {
      const text = Buffer.concat([...cap.stdout, ...cap.stderr]).toString('utf8');
      bytes += Buffer.byteLength(text);
      const ls = text.split('\n');
      lines += ls.length;
      for (const n of ctx.secrets.needles) {
        if (n.value.length < 6) continue;
        for (const l of ls) if (l.includes(n.value)) hits.push({ needle: n.name, capture: cap.name, excerpt: masked(l, n.value) });
      }
    }
    const perNeedle = new Map<string, number>();
    for (const h of hits) perNeedle.set(h.needle, (perNeedle.get(h.needle) ?? 0) + 1);
    for (const n of ctx.secrets.needles) {
      const count = perNeedle.get(n.name) ?? 0;
      sc.check(`${n.name} never appears in a log line`, count === 0, count ? `${count} line(s), e.g. [${hits.find((h) => h.needle === n.name)!.capture}] ${hits.find((h) => h.needle === n.name)!.excerpt.slice(0, 400)}` : '');
    }
    sc.figure('router processes captured (all scenarios)', ctx.captures.length);
    sc.figure('log bytes / lines scanned', `${bytes} / ${lines}`);
    sc.figure('secrets scanned for (incl. encoded forms)', ctx.secrets.needles.length);
    sc.figure('lines containing a secret', hits.length);
    sc.figure('notification requests received (webhook / slack / telegram)', `${hooks.length} / ${slack.length} / ${ctx.sink.requests.filter((r) => r.channel === 'telegram').length}`);
    const slackHits = hits.filter((h) => h.needle === 'SLACK_WEBHOOK_URL token');
    if (slackHits.length > 0) {
      sc.bug(
        `The Slack webhook URL's secret path is logged when the receiver echoes the request path in an error body (here a 404 "Cannot POST /services/…", Express' default page; corporate proxies do the same): ${slackHits.length} line(s) such as err="${/"err":"([^"]*)"/.exec(slackHits[0]!.excerpt)?.[1] ?? slackHits[0]!.excerpt.slice(0, 200)}" (router ${slackHits[0]!.capture}). ` +
          `${ref('src/abandon/notifiers/http.ts', 'oneLine(text)')} puts the first 300 characters of the response body into the DeliveryError message; ${ref('src/abandon/notifiers/slack.ts', 'await postJson')} does not scrub its URL from it (${ref('src/abandon/notifiers/telegram.ts', 'split(this.o.token)')} does, for its token); ${ref('src/abandon/outbox.ts', 'rejected permanently; not retried')} and ${ref('src/abandon/outbox.ts', 'not delivered; will retry')} log err.message. ` +
          'Suggested fix: in postJson, replace the request URL, its path and its query string in the body excerpt with "<redacted>" before building the message (covers Slack, Telegram and token-bearing webhook URLs alike).',
      );
    }
    // Node's own warnings on stderr (e.g. listener leaks) are part of the logs too.
    const warnings = ctx.captures.flatMap((c) => Buffer.concat(c.stderr).toString('utf8').split('\n').filter((l) => /Warning:/.test(l)).map((l) => `[${c.name}] ${l.slice(0, 200)}`));
    sc.figure('Node warnings on router stderr', warnings.length ? warnings.slice(0, 3).join(' | ') : '0');
    if (warnings.some((w) => /MaxListenersExceededWarning/.test(w))) {
      sc.bug(
        `Abort-listener leak in every reconnect/retry loop (Node printed MaxListenersExceededWarning on router stderr: ${warnings.find((w) => /MaxListeners/.test(w))!.slice(0, 160)}). ` +
          `${ref('src/backoff.ts', 'export const sleep')} sleep() adds an abort listener to the caller's process-lifetime signal and never removes it when the timer fires; ${ref('src/ami/connection.ts', 'await sleep(')}, ${ref('src/ari/connection.ts', 'await sleep(')} and ${ref('src/cdr/shipper.ts', 'await sleep(')} call it once per failed attempt, so a long AMI/ARI/Elasticsearch outage grows the listener list without bound (~720/h at the 5 s AMI cap). ` +
          'Suggested fix: keep the listener in a variable and signal.removeEventListener("abort", onAbort) in the timer callback (or use timers/promises setTimeout(ms, undefined, { signal }) and swallow the AbortError).',
      );
    }
    const firstHit = hits[0];
    if (firstHit) {
      const byCap = [...new Set(hits.map((h) => `${h.needle} in ${h.capture}`))];
      sc.note(`Secret occurrences (masked): ${byCap.slice(0, 10).join('; ')}. First: ${firstHit.excerpt.slice(0, 400)}`);
    }
    void lineTime;
    void harnessEnv;
  } finally {
    await double.setDown(false);
    await esTap.close();
  }
}
