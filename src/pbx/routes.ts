// PBX_ROUTES: how this PBX reaches an agent who works on another one. One dial
// string template per PBX name, `${agent}` standing for the agent's extension:
//   PBX_ROUTES=pbx-a=PJSIP/${agent}@pbx-a,pbx-b=PJSIP/${agent}@pbx-b
// Every router can carry the same list: a router skips its own name. The result
// goes into STICKY_DIAL, which [sticky-ring] hands to Dial(): the template may
// hold nothing Dial() would split on (commas, parentheses) or the dialplan would
// misread (spaces, `~`). `{agent}` works too, where something before the router
// would expand `${agent}` itself (a systemd EnvironmentFile, an unescaped compose file).
export type PbxRoutes = ReadonlyMap<string, string>;

const pbxName = /^[A-Za-z0-9_.-]+$/;
const template = /^[A-Za-z0-9_+./@:&${}-]+$/;
const agentToken = /\$?\{agent\}/g;

/** Parses PBX_ROUTES; throws with a message naming the bad entry and what was expected. */
export function parsePbxRoutes(raw: string | undefined): PbxRoutes {
  const routes = new Map<string, string>();
  if (raw === undefined || raw.trim() === '') return routes;
  for (const entry of raw.split(',').map((e) => e.trim()).filter(Boolean)) {
    const eq = entry.indexOf('=');
    const name = eq > 0 ? entry.slice(0, eq).trim() : '';
    const dial = eq > 0 ? entry.slice(eq + 1).trim() : '';
    if (!pbxName.test(name)) throw new Error(`${JSON.stringify(entry)}: expected <pbx name>=<dial string>, the name of letters, digits, _ . or -`);
    if (!/\{agent\}/.test(dial) || !template.test(dial)) {
      throw new Error(`${JSON.stringify(entry)}: expected a dial string with \${agent} and no commas, spaces, parentheses or ~, e.g. ${name}=PJSIP/\${agent}@${name}`);
    }
    if (routes.has(name)) throw new Error(`${JSON.stringify(name)} appears twice`);
    routes.set(name, dial);
  }
  return routes;
}

/** The dial string for `agent` on `pbx`, or undefined without a route. */
export function dialFor(routes: PbxRoutes, pbx: string, agent: string): string | undefined {
  const t = routes.get(pbx);
  // Agents come from CDRs: keep only what an extension or a MemberName can hold.
  const safe = agent.replace(/[^A-Za-z0-9_+.-]/g, '');
  return t && safe ? t.replace(agentToken, safe) : undefined;
}
