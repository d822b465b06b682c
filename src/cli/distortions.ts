/** `medpsim distortions`: the catalog, as a table or JSON. */
import type { Command } from 'commander';
import { CATALOG, describeMapping } from '../distortions/catalog';

export function registerDistortionsCommand(program: Command): void {
  program
    .command('distortions')
    .description('print the distortion catalog: kinds, parameters with ranges, severity mappings')
    .option('--json', 'print JSON')
    .action((options: { json?: boolean }) => {
      if (options.json) {
        console.log(JSON.stringify(CATALOG, null, 2));
        return;
      }
      for (const kind of CATALOG) {
        const flags = [kind.random ? 'seeded' : '', kind.needsColor ? 'colour images only' : ''].filter(Boolean);
        console.log(`${kind.name}  [${kind.family}${flags.length ? `; ${flags.join('; ')}` : ''}]`);
        console.log(`  ${kind.description}`);
        for (const param of kind.params) {
          const range = param.allowed ? `{${param.allowed.join(', ')}}` : `[${param.min}, ${param.max}]`;
          console.log(`  ${param.name} (${param.unit}) ${range}, default ${param.default}: ${param.description}`);
        }
        const mapped = kind.params.filter((param) => kind.severity[param.name]);
        console.log(`  severity 0..1: ${mapped.map((param) => describeMapping(param, kind.severity[param.name])).join('; ')}`);
      }
    });
}
