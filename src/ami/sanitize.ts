// AMI is a line protocol and asterisk-ami-client writes values as they are: a CR or
// LF in a caller-controlled value would start a second action. Every outgoing
// value passes through here.
export type AmiFieldValue = string | number | boolean | undefined | null;

export function amiValue(v: AmiFieldValue): string {
  return String(v ?? '').replace(/[\r\n\0]+/g, ' ');
}

export function sanitizeAction(fields: Record<string, AmiFieldValue>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields)) out[amiValue(k).replace(/[:\s]/g, '')] = amiValue(v);
  return out;
}
