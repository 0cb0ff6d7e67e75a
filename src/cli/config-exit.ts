// Every command validates its environment the same way: one line per bad variable
// on stderr and exit 78 (EX_CONFIG), before anything connects.
import { ConfigError, loadConfig, type Config } from '../config.js';

export function configOrExit(...args: Parameters<typeof loadConfig>): Config {
  try {
    return loadConfig(...args);
  } catch (err) {
    if (err instanceof ConfigError) exitWith(err.message, 78);
    throw err;
  }
}

export function exitWith(message: string, code: number): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}
