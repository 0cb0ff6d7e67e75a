#!/usr/bin/env node
// sticky-router <command>: the one entry point for operators.
import { Command } from 'commander';
import { registerStart } from './start.js';
import { registerLookup } from './lookup.js';
import { registerSetup } from './setup.js';
import { registerExport } from './export.js';
import { registerRecordings } from './recordings.js';
import { registerWaitReady } from './wait-ready.js';
import { registerDoctor } from './doctor.js';
import { registerRejected } from './rejected.js';
import { registerNotifications } from './notifications.js';
import { registerRecalls } from './recalls.js';
import { version } from '../version.js';

const program = new Command()
  .name('sticky-router')
  .version(version)
  .description('Routes a returning caller to the agent they last talked to (Asterisk ARI + AMI + Elasticsearch).')
  .showHelpAfterError();

registerStart(program);
registerLookup(program);
registerSetup(program);
registerExport(program);
registerRecordings(program);
registerWaitReady(program);
registerDoctor(program);
registerRejected(program);
registerNotifications(program);
registerRecalls(program);

await program.parseAsync(process.argv);
