#!/usr/bin/env node
/** medpsim command line: `medpsim --help`. */
import { Command } from 'commander';
import { registerDatasetCommands } from './datasets';
import { registerDistortCommand } from './distort';
import { registerDistortionsCommand } from './distortions';
import { registerSynthCommand } from './synth';
import { registerTrainCommand } from './train';

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

registerDatasetCommands(program);
registerSynthCommand(program);
registerDistortionsCommand(program);
registerDistortCommand(program);
registerTrainCommand(program);

program.parseAsync(process.argv).catch((error: Error) => {
  console.error(`medpsim: ${error.message}`);
  process.exit(1);
});
