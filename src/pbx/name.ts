// This PBX's name, as every CDR, decision record and published agent state
// carries it: PBX_NAME, else Asterisk's own SystemName (asterisk.conf [options]
// systemname, which also prefixes its uniqueids), read once over AMI.
import type { AmiConnection } from '../ami/connection.js';

/** The AMI action this reads (CoreSettings answers with SystemName). */
export const pbxNameActions = ['CoreSettings'] as const;

export async function resolvePbxName(configured: string | undefined, ami: Pick<AmiConnection, 'action'>): Promise<{ name: string | undefined; from: 'PBX_NAME' | 'SystemName' | 'none' }> {
  if (configured) return { name: configured, from: 'PBX_NAME' };
  const res = await ami.action({ Action: 'CoreSettings' });
  const name = (res.SystemName ?? '').trim();
  return name && /^[A-Za-z0-9_.-]+$/.test(name) ? { name, from: 'SystemName' } : { name: undefined, from: 'none' };
}
