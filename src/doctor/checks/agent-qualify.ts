// Asterisk qualifies the agents' AORs, so an agent whose phone is gone shows as offline
// and is not rung. Agents are the AORs whose channel name AGENT_CHANNEL_PATTERN accepts.
import { fix, ok, type Check } from '../check.js';

export const agentQualifyCheck: Check = {
  name: 'agent-qualify',
  async run({ config, ami }) {
    const aors = await (await ami()).list({ Action: 'PJSIPShowAors' });
    const pattern = new RegExp(config.AGENT_CHANNEL_PATTERN);
    // The channel Asterisk would create for an endpoint of that name.
    const agents = aors.filter((a) => pattern.test(`PJSIP/${String(a.ObjectName)}-0000002a`));
    if (agents.length === 0) return fix(`no PJSIP AOR is an agent under AGENT_CHANNEL_PATTERN ${config.AGENT_CHANNEL_PATTERN} (AORs: ${aors.map((a) => String(a.ObjectName)).join(', ') || 'none'}): set AGENT_CHANNEL_PATTERN to match your agents' channels`);
    const unqualified = agents.filter((a) => !(Number(a.QualifyFrequency) > 0)).map((a) => String(a.ObjectName));
    if (unqualified.length > 0) return fix(`agent AOR${unqualified.length > 1 ? 's' : ''} ${unqualified.join(', ')} without qualify (qualify_frequency = 0): an agent whose phone is gone would still be rung; set qualify_frequency (e.g. 30) in pjsip.conf and \`module reload res_pjsip.so\``);
    return ok(`${agents.length} agent AOR${agents.length > 1 ? 's' : ''} qualified (${agents.map((a) => `${String(a.ObjectName)} every ${String(a.QualifyFrequency)} s`).join(', ')})`);
  },
};
