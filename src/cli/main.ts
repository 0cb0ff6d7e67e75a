#!/usr/bin/env node
// sticky-router <command>: the one entry point for operators.
import { Command } from 'commander';
import { registerStart } from './start.js';

const program = new Command()
  .name('sticky-router')
  .description('Routes a returning caller to the agent they last talked to (Asterisk ARI + AMI + Elasticsearch).')
  .showHelpAfterError();

registerStart(program);

await program.parseAsync(process.argv);
