// One doctor check: a name, what it looks at, and a verdict per thing it looked at.
// A check says OK with what it saw, or FIX with what is wrong and what to change.
import type { Config } from '../config.js';
import type { DoctorAmi } from './ami-session.js';

export interface Verdict {
  ok: boolean;
  /** One line: what was seen (OK) or what is wrong and what to change (FIX). */
  message: string;
}

export const ok = (message: string): Verdict => ({ ok: true, message });
export const fix = (message: string): Verdict => ({ ok: false, message });

export interface DoctorContext {
  config: Config;
  env: NodeJS.ProcessEnv;
  /** The AMI session with the router's own credentials; rejects when it cannot log in. */
  ami: () => Promise<DoctorAmi>;
  /** Epoch milliseconds now, on the router's host. */
  now: () => number;
}

export interface Check {
  /** Short, stable id shown in the output (e.g. `dialplan`). */
  name: string;
  run(ctx: DoctorContext): Promise<Verdict | Verdict[]>;
}

/** Thrown by a check that cannot look because what it needs (AMI) is not there. */
export class CannotCheck extends Error {}
