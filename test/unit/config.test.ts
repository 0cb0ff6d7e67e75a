import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config.js';

const base = { ARI_USERNAME: 'u', ARI_PASSWORD: 'p', AMI_USERNAME: 'u', AMI_PASSWORD: 'p' };

test('defaults match the documented table', () => {
  const c = loadConfig(base);
  assert.equal(c.ARI_URL, 'http://127.0.0.1:8088');
  assert.equal(c.ARI_APP, 'sticky-router');
  assert.equal(c.AMI_PORT, 5038);
  assert.equal(c.ES_NODE, undefined);
  assert.equal(c.ES_INDEX_PREFIX, 'cdr');
  assert.equal(c.STICKY_WINDOW, 30 * 60_000);
  assert.equal(c.AGENT_RING_TIMEOUT, 20_000);
  assert.equal(c.LOOKUP_TIMEOUT, 300);
  assert.equal(c.FALLBACK_CONTEXT, 'ivr');
  assert.equal(c.FALLBACK_EXTENSION, 's');
  assert.equal(c.HTTP_PORT, 8090);
  assert.equal(c.DATA_DIR, './data');
  assert.equal(c.LOG_LEVEL, 'info');
});

const bad: [string, string, RegExp][] = [
  ['STICKY_WINDOW', '30m', /STICKY_WINDOW="30m" is invalid: expected an ISO-8601 duration/],
  ['STICKY_WINDOW', 'PT0S', /greater than zero/],
  ['AGENT_RING_TIMEOUT', '-PT5S', /AGENT_RING_TIMEOUT/],
  ['LOOKUP_TIMEOUT', 'fast', /LOOKUP_TIMEOUT="fast"/],
  ['AMI_PORT', '70000', /AMI_PORT="70000" is invalid: expected an integer TCP port/],
  ['AMI_PORT', 'abc', /AMI_PORT/],
  ['HTTP_PORT', '80.5', /HTTP_PORT/],
  ['ARI_URL', 'localhost:8088', /ARI_URL="localhost:8088" is invalid: expected an http\(s\) URL/],
  ['ARI_URL', 'http://pbx:8088/asterisk', /without a path/],
  ['ES_NODE', 'ftp://es', /ES_NODE/],
  ['DEFAULT_COUNTRY', 'XX', /DEFAULT_COUNTRY="XX" is invalid: expected a two-letter ISO 3166 region/],
  ['LOG_LEVEL', 'verbose', /LOG_LEVEL="verbose"/],
  ['ES_INDEX_PREFIX', 'CDR', /lowercase/],
  ['FALLBACK_CONTEXT', 'ivr,s', /FALLBACK_CONTEXT/],
  ['ARI_APP', 'a b', /ARI_APP/],
];

for (const [name, value, expected] of bad) {
  test(`${name}=${JSON.stringify(value)} is rejected with a one-line reason`, () => {
    assert.throws(() => loadConfig({ ...base, [name]: value }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, expected);
      assert.equal(err.message.split('\n').length, 1);
      return true;
    });
  });
}

test('missing credentials are named, and secrets are never echoed', () => {
  assert.throws(() => loadConfig({ ARI_USERNAME: 'u' }), /ARI_PASSWORD=\(unset\) is invalid/);
  assert.throws(() => loadConfig({ ...base, ES_USERNAME: 'elastic' }), /ES_PASSWORD/);
  try {
    loadConfig({ ...base, ES_API_KEY: 'topsecret', ES_USERNAME: 'e', ES_PASSWORD: 'hunter2' });
    assert.fail('should throw');
  } catch (err) {
    assert.doesNotMatch((err as Error).message, /topsecret|hunter2/);
  }
});

test('empty values count as unset (compose writes FOO= for unset)', () => {
  assert.equal(loadConfig({ ...base, ES_NODE: '' }).ES_NODE, undefined);
});

test('credentials inside ARI_URL / ES_NODE move to their variables and leave the URL; an invalid one is shown without them', () => {
  const c = loadConfig({ AMI_USERNAME: 'u', AMI_PASSWORD: 'p', ARI_URL: 'http://ariuser:s3cr%40t-ari@127.0.0.1:8088', ES_NODE: 'https://elastic:s3cret-es@es.example:9200' });
  assert.equal(c.ARI_URL, 'http://127.0.0.1:8088');
  assert.equal(c.ARI_USERNAME, 'ariuser');
  assert.equal(c.ARI_PASSWORD, 's3cr@t-ari');
  assert.equal(c.ES_NODE, 'https://es.example:9200');
  assert.equal(c.ES_USERNAME, 'elastic');
  assert.equal(c.ES_PASSWORD, 's3cret-es');
  assert.ok(!JSON.stringify(c).includes('s3cr%40t') && !JSON.stringify({ ...c, ARI_PASSWORD: 0, ES_PASSWORD: 0 }).includes('s3cret'), 'no URL carries a password');
  // Explicit variables win; the URL's credentials are still stripped.
  const d = loadConfig({ ...base, ARI_URL: 'http://x:leak-me@127.0.0.1:8088' });
  assert.equal(d.ARI_PASSWORD, 'p');
  assert.equal(d.ARI_URL, 'http://127.0.0.1:8088');
  for (const [k, v] of [['ARI_URL', 'http://u:leak-me@pbx:8088/asterisk'], ['ES_NODE', 'ftp://u:leak-me@es:9200'], ['ES_NODE', 'http://u:leak-me@bad host:9200']] as const) {
    let msg = '';
    try {
      loadConfig({ ...base, [k]: v });
    } catch (err) {
      msg = (err as Error).message;
    }
    assert.match(msg, new RegExp(`config: ${k}=`), v);
    assert.ok(!msg.includes('leak-me'), `${k} error shows no password: ${msg}`);
  }
});
