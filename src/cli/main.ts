#!/usr/bin/env node
/** medpsim command line: `medpsim --help`. Each module adds its commands (src/modules.ts). */
import 'reflect-metadata';
import { Command } from 'commander';
import { MODULES } from '../modules';

const program = new Command();
program
  .name('medpsim')
  .description('Perceptual-similarity test sets of medical images: command line for a medpsim server and local tools')
  .showHelpAfterError();

program
  .command('serve')
  .description('start the GraphQL server and job workers (same as npm start; configuration from the environment)')
  .action(() => {
    require('../main');
  });

for (const module of MODULES) module.cli?.(program);

program.parseAsync(process.argv).catch((error: Error) => {
  console.error(`medpsim: ${error.message}`);
  process.exit(1);
});
