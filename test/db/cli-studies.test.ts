/** The test-set and study commands, as a pipeline runs them: create a set from a file, a study, show, export. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { acceptInvitation, createRater } from '../../src/access/raters';
import { startTestApp, type TestApp } from '../helpers/app';
import { runCli, stopProcesses } from '../helpers/processes';
import { importPhantoms } from '../helpers/testsets';

let t: TestApp;
let datasetId: string;
const folder = mkdtempSync(path.join(tmpdir(), 'medpsim-cli-studies-'));

beforeAll(async () => {
  t = await startTestApp({ http: true });
  datasetId = await importPhantoms(t, 4, 128);
}, 120_000);

afterAll(async () => {
  await stopProcesses();
  await t?.close();
});

const cli = (args: string[], env: Record<string, string> = {}) => runCli({ url: t.server!.url, token: t.token }, args, env);

it('builds a set from a definition file, rebuilds it to the same hash, runs a study and exports it', async () => {
  const definition = path.join(folder, 'set.json');
  writeFileSync(definition, JSON.stringify({ name: 'cli set', kind: 'TWO_AFC', datasetId, references: 4, size: 64, pool: [{ kinds: ['gaussian_blur'] }], seed: 3 }));
  const created = await cli(['testset', 'create', definition, '--json']);
  expect(created.code).toBe(0);
  const set = JSON.parse(created.output.trim().split('\n').at(-1)!);
  expect(set).toMatchObject({ state: 'READY', itemCount: 4, counts: [{ role: 'ITEM', category: 'traditional', count: 4 }] });
  const cloned = JSON.parse((await cli(['testset', 'clone', set.id, '--json'])).output.trim().split('\n').at(-1)!);
  expect(cloned).toMatchObject({ version: 2, contentHash: set.contentHash });

  const raterIds = [];
  for (let i = 0; i < 2; i++) {
    const invitation = await createRater(t.app, { displayName: `cli ${i}` });
    await acceptInvitation(t.app, invitation.code);
    raterIds.push(invitation.rater.id);
  }
  const studyFile = path.join(folder, 'study.json');
  writeFileSync(studyFile, JSON.stringify({ name: 'cli study', testSetIds: [set.id], raterIds, seed: 1, protocol: { judgmentsPerItem: 2 } }));
  const study = await cli(['study', 'create', studyFile, '--json']);
  expect(study.code).toBe(0);
  const { id, progress } = JSON.parse(study.output);
  expect(progress).toMatchObject({ raters: 2, presentations: 8, answered: 0 });
  const shown = await cli(['study', 'show', id]);
  expect(shown.output).toContain('0/8 presentations answered');
  expect(shown.output).toMatch(/R-[0-9a-f]{6}: 0 judgments/);

  const zip = path.join(folder, 'export.zip');
  const exported = await cli(['study', 'export', id, '--out', zip]);
  expect(exported.code).toBe(0);
  const names = execFileSync('python3', ['-m', 'zipfile', '-l', zip]).toString();
  expect(names).toContain('manifest.json');
  expect(names).toContain('judgments.csv');
});

it('says what is wrong with a definition, naming the field', async () => {
  const definition = path.join(folder, 'bad.json');
  writeFileSync(definition, JSON.stringify({ name: 'bad', kind: 'TWO_AFC', datasetId, references: 4, size: 4096, pool: [{ kinds: ['gaussian_blur'] }], seed: 3 }));
  const refused = await cli(['testset', 'create', definition]);
  expect(refused.code).not.toBe(0);
  expect(refused.output).toContain('size: must be an integer in [32, 1024]');
});
