/** `medpsim testset ...`: test sets through a running server (create from a definition file, list, show, clone, import BAPPS). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { request, serverOf, serverOptions, type Server } from './client';
import { followJob, jobSummary } from './jobs';

const SET_FIELDS = `id name kind origin version state itemCount failedItems contentHash lockedAt jobId counts { role category count }`;

interface SetView {
  id: string;
  name: string;
  kind: string;
  origin: string;
  version: number;
  state: string;
  itemCount: number;
  failedItems: number | null;
  contentHash: string | null;
  lockedAt: string | null;
  jobId: string | null;
  counts: Array<{ role: string; category: string; count: number }>;
}

function describe(set: SetView): string {
  const lines = [`${set.name} v${set.version} (${set.kind}, ${set.origin}) ${set.state}: ${set.itemCount} items  [${set.id}]`];
  if (set.contentHash) lines.push(`  content hash ${set.contentHash}${set.lockedAt ? `, locked (judged) since ${set.lockedAt}` : ''}`);
  for (const row of set.counts) lines.push(`  ${row.role.toLowerCase()} / ${row.category}: ${row.count}`);
  return lines.join('\n');
}

async function showSet(server: Server, id: string): Promise<SetView> {
  return (await request<{ testSet: SetView }>(server, `query ($id: ID!) { testSet(id: $id) { ${SET_FIELDS} } }`, { id })).testSet;
}

/** Waits for the set's job (with a bar on a terminal), then prints the set; exit code 1 unless READY. */
async function finish(server: Server, set: SetView, options: { wait: boolean; json?: boolean }): Promise<void> {
  if (!options.wait || !set.jobId) {
    console.log(options.json ? JSON.stringify(set) : describe(set));
    return;
  }
  const job = await followJob(server, set.jobId, !options.json && process.stderr.isTTY === true);
  const done = await showSet(server, set.id);
  if (!options.json) console.error(jobSummary(job));
  console.log(options.json ? JSON.stringify(done) : describe(done));
  if (done.state !== 'READY') process.exitCode = 1;
}

export function registerTestSetCommands(program: Command): void {
  const testset = program.command('testset').description('test sets: 2AFC triplets and JND pairs built from a definition, or imported');

  serverOptions(testset.command('create'))
    .description('build a test set from a definition (a JSON file with the fields of TestSetDefinitionInput; see README)')
    .argument('<definition.json>', 'the definition')
    .option('--no-wait', 'print the set and return at once')
    .option('--json', 'print JSON')
    .action(async (file: string, options) => {
      const server = serverOf(options);
      const definition = JSON.parse(readFileSync(file, 'utf8'));
      const { createTestSet } = await request<{ createTestSet: SetView }>(
        server,
        `mutation ($definition: TestSetDefinitionInput!) { createTestSet(definition: $definition) { ${SET_FIELDS} } }`,
        { definition },
      );
      await finish(server, createTestSet, options);
    });

  serverOptions(testset.command('clone'))
    .description('a new version of a set: rebuilt from its definition and seed (the same content hash), or from a changed definition file')
    .argument('<id>', 'test set id')
    .option('--definition <file>', 'a changed definition (JSON)')
    .option('--no-wait', 'print the set and return at once')
    .option('--json', 'print JSON')
    .action(async (id: string, options) => {
      const server = serverOf(options);
      const definition = options.definition ? JSON.parse(readFileSync(options.definition, 'utf8')) : null;
      const { cloneTestSet } = await request<{ cloneTestSet: SetView }>(
        server,
        `mutation ($id: ID!, $definition: TestSetDefinitionInput) { cloneTestSet(id: $id, definition: $definition) { ${SET_FIELDS} } }`,
        { id, definition },
      );
      await finish(server, cloneTestSet, options);
    });

  serverOptions(testset.command('import-bapps'))
    .description('import a folder in the BAPPS layout (2afc/<split>/<category>/{ref,p0,p1,judge} or jnd/...) with its judgments')
    .argument('<folder>', 'folder on the server, inside its MEDPSIM_IMPORT_ROOTS')
    .requiredOption('--name <name>', 'name of the new test set')
    .option('--kind <kind>', 'TWO_AFC (2afc/) or JND (jnd/)', 'TWO_AFC')
    .option('--no-wait', 'print the set and return at once')
    .option('--json', 'print JSON')
    .action(async (folder: string, options) => {
      const server = serverOf(options);
      const { importBappsTestSet } = await request<{ importBappsTestSet: SetView }>(
        server,
        `mutation ($path: String!, $name: String!, $kind: TestSetKind!) { importBappsTestSet(path: $path, name: $name, kind: $kind) { ${SET_FIELDS} } }`,
        { path: path.resolve(folder), name: options.name, kind: options.kind },
      );
      await finish(server, importBappsTestSet, options);
    });

  serverOptions(testset.command('list'))
    .description('list test sets, newest first')
    .option('--json', 'print JSON')
    .action(async (options) => {
      const { testSets } = await request<{ testSets: SetView[] }>(serverOf(options), `{ testSets { ${SET_FIELDS} } }`);
      console.log(options.json ? JSON.stringify(testSets, null, 2) : testSets.map(describe).join('\n') || 'no test sets');
    });

  serverOptions(testset.command('show'))
    .description('a test set, its state and its items per role and category')
    .argument('<id>', 'test set id')
    .option('--json', 'print JSON')
    .action(async (id: string, options) => {
      const set = await showSet(serverOf(options), id);
      console.log(options.json ? JSON.stringify(set, null, 2) : describe(set));
    });
}
