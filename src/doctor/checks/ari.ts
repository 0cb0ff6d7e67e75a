// ARI answers with these credentials, and the user may act on channels.
import { probeAri } from '../../ari/probe.js';
import { fix, ok, type Check } from '../check.js';

export const ariCheck: Check = {
  name: 'ari',
  async run({ config }) {
    const probe = await probeAri(config.ARI_URL, config.ARI_USERNAME, config.ARI_PASSWORD);
    if (!probe.ok) {
      return fix(probe.auth
        ? `${probe.message}: set ARI_USERNAME/ARI_PASSWORD to a user of ari.conf (type = user, read_only = no)`
        : `${probe.message}: set ARI_URL to Asterisk's HTTP server, with enabled = yes in http.conf and enabled = yes in ari.conf`);
    }
    const auth = Buffer.from(`${config.ARI_USERNAME}:${config.ARI_PASSWORD}`).toString('base64');
    const res = await fetch(new URL('/ari/asterisk/info', config.ARI_URL), { headers: { authorization: `Basic ${auth}` }, signal: AbortSignal.timeout(3000) });
    const info = (await res.json()) as { system?: { version?: string } };
    return ok(`ARI at ${config.ARI_URL} accepts user ${JSON.stringify(config.ARI_USERNAME)} (Asterisk ${info.system?.version ?? 'unknown version'})`);
  },
};

/** ari.conf read_only = yes lets the router register but not move callers on. */
export const ariWriteCheck: Check = {
  name: 'ari-user',
  async run({ config, ami }) {
    const ariConf = await (await ami()).config('ari.conf');
    const user = ariConf.get(config.ARI_USERNAME);
    if (!user) return fix(`ari.conf has no [${config.ARI_USERNAME}] section (read with GetConfig): add one with type = user, read_only = no`);
    const readOnly = user.filter(([k]) => k.toLowerCase() === 'read_only').at(-1)?.[1];
    if (readOnly && /^(yes|true|y|t|1|on)$/i.test(readOnly)) return fix(`ari.conf [${config.ARI_USERNAME}] has read_only = ${readOnly}: the router could not continue callers in the dialplan; set read_only = no`);
    return ok(`ari.conf [${config.ARI_USERNAME}] may control channels (read_only = ${readOnly ?? 'no'})`);
  },
};
