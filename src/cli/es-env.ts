// Config for the commands that only talk to Elasticsearch or the journal (export,
// setup): ARI/AMI credentials are not needed there, so only these must be valid.
import type { Config } from '../config.js';
import { configOrExit } from './config-exit.js';

export const esCommandVariables = ['ES_NODE', 'ES_API_KEY', 'ES_USERNAME', 'ES_PASSWORD', 'ES_INDEX_PREFIX', 'DATA_DIR', 'LOG_LEVEL'] as const;

export function esCommandConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return configOrExit(env, esCommandVariables);
}

/** Prints `sticky-router <command>: <message>` on stderr and exits. */
export function fail(command: string, message: string, code: number): never {
  process.stderr.write(`sticky-router ${command}: ${message}\n`);
  process.exit(code);
}
