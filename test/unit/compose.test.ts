// docker/compose.yml cannot run here (no Docker engine), so what can drift is
// checked instead: the YAML parses, everything it builds from or mounts exists,
// the router gets only variables the config schemas know, and the Asterisk image
// installs the same config directories as the chroot harness.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { configNames } from '../../src/config.js';
import { notifyConfigNames } from '../../src/abandon/notify-config.js';
import { recordingsConfigNames } from '../../src/recordings/config.js';
import { monitorConfigNames } from '../../src/monitoring/config.js';
import { shebangEnv, shebangNodeFlags } from '../support/node-flags.js';

const root = resolve(import.meta.dirname, '..', '..');
const composeFile = join(root, 'docker', 'compose.yml');
const composeDir = dirname(composeFile);

interface Service {
  build?: string | { context?: string; dockerfile?: string };
  image?: string;
  environment?: Record<string, string | number | boolean | null> | string[];
  volumes?: (string | { type?: string; source?: string; target?: string })[];
  network_mode?: string;
  depends_on?: Record<string, { condition: string }> | string[];
  command?: string[] | string;
}
const compose = parse(readFileSync(composeFile, 'utf8')) as { services: Record<string, Service>; volumes?: Record<string, unknown> };

const envNames = (s: Service): string[] => (Array.isArray(s.environment) ? s.environment.map((e) => e.split('=')[0]!) : Object.keys(s.environment ?? {}));
const buildOf = (s: Service) => (typeof s.build === 'string' ? { context: s.build, dockerfile: 'Dockerfile' } : { context: s.build?.context ?? '.', dockerfile: s.build?.dockerfile ?? 'Dockerfile' });
/** COPY/ADD sources of a Dockerfile (not --from=stage copies), relative to the build context. */
function copySources(dockerfile: string): string[] {
  const lines = readFileSync(dockerfile, 'utf8').replace(/\\\n/g, ' ').split('\n');
  return lines
    .map((l) => l.trim())
    .filter((l) => /^(COPY|ADD)\s/i.test(l) && !/--from=/.test(l))
    .flatMap((l) => {
      const args = l.split(/\s+/).slice(1).filter((a) => !a.startsWith('--'));
      return args.slice(0, -1);
    });
}
/** A COPY source exists: a path, or a glob whose directory exists and matches at least one file. */
function sourceExists(context: string, src: string): boolean {
  if (!src.includes('*')) return existsSync(join(context, src));
  const dir = join(context, dirname(src));
  if (!existsSync(dir)) return false;
  const re = new RegExp(`^${src.split('/').pop()!.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return readdirSync(dir).some((f) => re.test(f));
}
test('compose.yml parses and has the five services the issue asks for (plus the one-shot setup and the HTTPS proxy)', () => {
  assert.deepEqual(Object.keys(compose.services).sort(), ['asterisk', 'caddy', 'elasticsearch', 'kibana', 'router', 'setup', 'sipp']);
  assert.match(compose.services.elasticsearch!.image!, /elasticsearch:\$\{STACK_VERSION:-8\.\d+\.\d+\}$/);
  assert.match(compose.services.kibana!.image!, /kibana:\$\{STACK_VERSION:-8\.\d+\.\d+\}$/);
});

test('every build context, Dockerfile, COPY source and bind mount exists in the repo', () => {
  for (const [name, s] of Object.entries(compose.services)) {
    if (s.build) {
      const { context, dockerfile } = buildOf(s);
      const ctx = resolve(composeDir, context);
      assert.ok(existsSync(ctx) && statSync(ctx).isDirectory(), `${name}: build context ${context}`);
      const df = join(ctx, dockerfile);
      assert.ok(existsSync(df), `${name}: ${dockerfile} in ${context}`);
      for (const src of copySources(df)) assert.ok(sourceExists(ctx, src), `${name}: ${dockerfile} copies ${src}, which is not in the build context`);
    }
    for (const v of s.volumes ?? []) {
      const source = typeof v === 'string' ? v.split(':')[0]! : (v.source ?? '');
      if (!source.startsWith('.') && !source.startsWith('/')) {
        assert.ok(compose.volumes && source in compose.volumes, `${name}: named volume ${source} is declared`);
        continue;
      }
      assert.ok(existsSync(resolve(composeDir, source)), `${name}: mounts ${source}, which does not exist`);
    }
  }
});

test('the router gets only variables the config schemas know (src/config.ts, src/abandon/notify-config.ts, src/recordings/config.ts, src/monitoring/config.ts)', () => {
  const known = new Set<string>([...configNames, ...notifyConfigNames, ...recordingsConfigNames, ...monitorConfigNames]);
  for (const name of ['router', 'setup']) {
    const unknown = envNames(compose.services[name]!).filter((n) => !known.has(n));
    assert.deepEqual(unknown, [], `${name}: variables no schema reads`);
  }
  const env = compose.services.router!.environment as Record<string, string>;
  for (const required of ['ARI_USERNAME', 'ARI_PASSWORD', 'AMI_USERNAME', 'AMI_PASSWORD', 'ES_NODE']) assert.ok(env[required], required);
});

test('the router and sipp share the Asterisk loopback, as beside the harness', () => {
  assert.equal(compose.services.router!.network_mode, 'service:asterisk');
  assert.equal(compose.services.sipp!.network_mode, 'service:asterisk');
  const env = compose.services.router!.environment as Record<string, string>;
  assert.equal(env.ARI_URL, 'http://127.0.0.1:8088');
  assert.equal(env.AMI_HOST, '127.0.0.1');
});

test('the router uses the lab credentials the Asterisk configs and the harness use', async () => {
  const { harnessEnv } = await import('../harness/credentials.js');
  const env = compose.services.router!.environment as Record<string, string>;
  for (const k of ['ARI_URL', 'ARI_USERNAME', 'ARI_PASSWORD', 'ARI_APP', 'AMI_HOST', 'AMI_PORT', 'AMI_USERNAME', 'AMI_PASSWORD'] as const) assert.equal(String(env[k]), harnessEnv[k], k);
});

test('the Asterisk image installs the same config directories as the chroot harness', () => {
  const harness = readFileSync(join(root, 'test', 'harness', 'asterisk.ts'), 'utf8');
  const m = /const configDirs = \(\) => \[([^\]]*)\]/.exec(harness);
  assert.ok(m, 'configDirs in test/harness/asterisk.ts');
  const harnessDirs = [...m[1]!.matchAll(/join\(projectRoot, '([^']+)'\)/g)].map((x) => x[1]!).sort();
  assert.ok(harnessDirs.length >= 2);
  assert.match(harness, /f\.endsWith\('\.conf'\)/, 'the harness installs *.conf files');

  const { context, dockerfile } = buildOf(compose.services.asterisk!);
  const df = join(resolve(composeDir, context), dockerfile);
  const copies = copySources(df);
  assert.deepEqual(copies.map((c) => dirname(c)).sort(), harnessDirs, 'COPY sources = harness config dirs');
  for (const c of copies) assert.match(c, /\/\*\.conf$/, `${c} copies the *.conf files`);
  const text = readFileSync(df, 'utf8');
  assert.match(text, /^FROM debian:sid$/m);
  assert.match(text, /rm -rf \/etc\/asterisk/, 'over an empty /etc/asterisk, like installConfigs()');
  // The same packages as the harness's root (test/harness/rootfs.ts).
  const rootfs = readFileSync(join(root, 'test', 'harness', 'rootfs.ts'), 'utf8');
  const pkgs = /const packages = \[([^\]]*)\]/.exec(rootfs)![1]!.match(/'([^']+)'/g)!.map((p) => p.slice(1, -1));
  for (const p of pkgs) assert.match(text, new RegExp(`\\b${p}\\b`), `installs ${p}`);
  assert.match(text, /CMD \["sh", "-c", "umask 0002 && exec asterisk -f -n"\]/);
});

test('recordings: Asterisk and the router share one volume at the dialplan\'s RECORDINGS_DIR; Caddy fronts only the recordings', () => {
  const globals = readFileSync(join(root, 'dialplan', 'extensions.conf'), 'utf8');
  const dialplanDir = /^RECORDINGS_DIR = (\S+)$/m.exec(globals)?.[1];
  assert.ok(dialplanDir, 'extensions.conf [globals] RECORDINGS_DIR');
  const mount = (s: Service) => (s.volumes ?? []).map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`)).find((v) => v.startsWith('recordings:'));
  assert.equal(mount(compose.services.asterisk!), `recordings:${dialplanDir}`);
  assert.equal(mount(compose.services.router!), `recordings:${dialplanDir}`);
  const env = compose.services.router!.environment as Record<string, string>;
  assert.equal(env.RECORDINGS_DIR, dialplanDir, 'the router reads where Asterisk writes');
  const caddy = compose.services.caddy as Service & { ports?: string[] };
  const cenv = caddy.environment as Record<string, string>;
  assert.equal(cenv.ROUTER_UPSTREAM, `asterisk:${env.HTTP_PORT}`, 'Caddy reaches the router in the asterisk namespace');
  assert.equal(env.PUBLIC_URL, `https://${cenv.RECORDINGS_SITE}`, 'the links point at Caddy');
  assert.deepEqual(caddy.ports, [`127.0.0.1:${cenv.RECORDINGS_SITE!.split(':')[1]}:${cenv.RECORDINGS_SITE!.split(':')[1]}`]);
  assert.equal((compose.services.setup!.environment as Record<string, string>).PUBLIC_URL, env.PUBLIC_URL, 'Kibana\'s links too');
  const caddyfile = readFileSync(join(composeDir, 'caddy', 'Caddyfile'), 'utf8');
  assert.match(caddyfile, /@recordings path \/media\/\* \/v1\/recordings \/v1\/recordings\/play/);
  assert.match(caddyfile, /tls internal/);
});

// docker/compose.multi-pbx.yml, the two-PBX deployment on top of compose.yml.
test('compose.multi-pbx.yml: a second PBX and router beside the first, their trunks the harness\'s, one PBX_ROUTES for both routers', async () => {
  const { composePeerTrunks } = await import('../harness/peer.js');
  const { harnessEnv } = await import('../harness/credentials.js');
  const { parsePbxRoutes } = await import('../../src/pbx/routes.js');
  const multi = parse(readFileSync(join(composeDir, 'compose.multi-pbx.yml'), 'utf8')) as { services: Record<string, Service>; volumes?: Record<string, unknown> };
  const volumes = { ...compose.volumes, ...multi.volumes };
  for (const [name, s] of Object.entries(multi.services)) {
    for (const v of s.volumes ?? []) {
      const source = typeof v === 'string' ? v.split(':')[0]! : (v.source ?? '');
      if (source.startsWith('.')) assert.ok(existsSync(resolve(composeDir, source)), `${name}: mounts ${source}`);
      else assert.ok(source in volumes, `${name}: named volume ${source} is declared`);
    }
  }
  // The mounted trunks are what test/harness/peer.ts writes for them.
  for (const pbx of ['pbx-a', 'pbx-b'] as const) assert.equal(readFileSync(join(composeDir, 'multi-pbx', pbx, 'pjsip_peers.conf'), 'utf8'), composePeerTrunks[pbx], `${pbx}'s pjsip_peers.conf (regenerate from composePeerTrunks)`);
  const b = multi.services['router-b']!;
  assert.equal(b.network_mode, 'service:asterisk-b');
  const known = new Set<string>([...configNames, ...notifyConfigNames, ...recordingsConfigNames, ...monitorConfigNames]);
  assert.deepEqual(envNames(b).filter((n) => !known.has(n)), [], 'router-b: variables no schema reads');
  const envB = b.environment as Record<string, string>;
  for (const k of ['ARI_URL', 'ARI_USERNAME', 'ARI_PASSWORD', 'ARI_APP', 'AMI_HOST', 'AMI_PORT', 'AMI_USERNAME', 'AMI_PASSWORD'] as const) assert.equal(String(envB[k]), harnessEnv[k], k);
  const envA = multi.services.router!.environment as Record<string, string>;
  assert.deepEqual([envA.PBX_NAME, envB.PBX_NAME], ['pbx-a', 'pbx-b']);
  assert.equal(envA.PBX_ROUTES, envB.PBX_ROUTES);
  // Compose turns $$ into $: the router reads ${agent}.
  const routes = parsePbxRoutes(envB.PBX_ROUTES!.replaceAll('$$', '$'));
  assert.deepEqual([...routes], [['pbx-a', 'PJSIP/${agent}@pbx-a'], ['pbx-b', 'PJSIP/${agent}@pbx-b']]);
  assert.equal(envB.ES_NODE, (compose.services.router!.environment as Record<string, string>).ES_NODE, 'one Elasticsearch');
  assert.ok(multi.services['asterisk-b']!.build, 'pbx-b builds the same Asterisk image');
});

test("the router image's ENTRYPOINT and ENV carry the bin's shebang flags and variables (the installed bin and systemd run the shebang)", () => {
  const flags = shebangNodeFlags();
  assert.ok(flags.includes('--max-semi-space-size=8'), `shebang flags: ${flags.join(' ')}`);
  const vars = shebangEnv();
  assert.deepEqual(vars, { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '32768' });
  const dockerfile = readFileSync(join(root, 'docker/router/Dockerfile'), 'utf8');
  const entry = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile)?.[1];
  assert.ok(entry, 'docker/router/Dockerfile has no exec-form ENTRYPOINT');
  assert.deepEqual(JSON.parse(entry) as string[], ['node', ...flags, 'dist/src/cli/main.js']);
  // The runtime stage (after the last FROM): ENV K=V lines.
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  const envs = Object.fromEntries([...runtime.matchAll(/^ENV\s+([A-Za-z_][A-Za-z0-9_]*)=(\S+)\s*$/gm)].map((m) => [m[1]!, m[2]!]));
  for (const [k, v] of Object.entries(vars)) assert.equal(envs[k], v, `docker/router/Dockerfile: ENV ${k}=${v}`);
  // No compose file sets them otherwise for the router.
  for (const file of ['compose.yml', 'compose.multi-pbx.yml']) {
    const c = parse(readFileSync(join(composeDir, file), 'utf8')) as { services: Record<string, Service> };
    for (const [name, svc] of Object.entries(c.services)) {
      for (const k of Object.keys(vars)) assert.ok(!envNames(svc).includes(k), `${file} ${name}: ${k} is the image's (the bin's shebang value)`);
    }
  }
});
