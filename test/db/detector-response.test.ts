/**
 * Detector responses end to end: what a folder import stores (DICOM from its header, plain files the
 * default or the import's option), setDetectorResponse on a dataset and on image ids, its input checks and
 * who may call it; all through GraphQL.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DetectorResponse1764700000000 } from '../../src/entities/migrations/1764700000000-DetectorResponse';
import { Role } from '../../src/platform/context';
import { makeDicom } from '../helpers/dicom-fixtures';
import { greyJpeg, grey16Png, writeTree } from '../helpers/files';
import { startTestApp, tokenFor, waitForJob, type TestApp } from '../helpers/app';

let t: TestApp;
let root: string;

const IMPORT = `mutation ($input: ImportDatasetInput!) { importDataset(input: $input) { id } }`;
const IMAGES = `query ($id: ID!) { dataset(id: $id) { images(first: 100) { edges { node {
  id sourcePath format dicomAttributes detectorResponse { mapping polarity attenuationRange source } } } } } }`;
const SET = `mutation ($input: SetDetectorResponseInput!) { setDetectorResponse(input: $input) }`;

const DEFAULT = { mapping: 'LOG', polarity: 1, attenuationRange: 4, source: 'DEFAULT' };
const DICOM_LIN = { mapping: 'LINEAR', polarity: -1, attenuationRange: 4, source: 'DICOM' };

/** A folder with two plain files and a DICOM file whose header says LIN, sign +1 (MONOCHROME2). */
async function writeFolder(name: string): Promise<string> {
  const folder = path.join(root, name);
  writeTree(folder, {
    'a.jpeg': await greyJpeg(32, 32, 1),
    'b.png': (await grey16Png(24, 16)).png,
    'detector.dcm': await makeDicom({
      width: 16,
      height: 12,
      bitsStored: 12,
      extra: { PixelIntensityRelationship: 'LIN', PixelIntensityRelationshipSign: 1 },
    }),
  });
  return folder;
}

/** Imports the folder; returns the dataset id. */
async function importFolder(folder: string, datasetName: string, extra: Record<string, unknown> = {}): Promise<string> {
  const response = await t.gql(IMPORT, { input: { path: folder, datasetName, ...extra } });
  expect(response.errors).toBeUndefined();
  const job = await waitForJob(t, response.data!.importDataset.id);
  expect(job).toMatchObject({ state: 'COMPLETED', done: 3, failed: 0 });
  const { data } = await t.gql(`{ datasets { id name } }`);
  return data!.datasets.find((d: { name: string }) => d.name === datasetName).id;
}

async function responses(datasetId: string): Promise<Record<string, any>> {
  const result = await t.gql(IMAGES, { id: datasetId });
  expect(result.errors).toBeUndefined();
  return Object.fromEntries(result.data!.dataset.images.edges.map(({ node }: any) => [node.sourcePath, node]));
}

const responsesOf = async (datasetId: string) =>
  Object.fromEntries(Object.entries(await responses(datasetId)).map(([file, node]) => [file, node.detectorResponse]));

beforeAll(async () => {
  t = await startTestApp({ http: true });
  root = mkdtempSync(path.join(tmpdir(), 'medpsim-response-'));
});

afterAll(async () => {
  await t?.close();
});

describe('import', () => {
  it('stores the DICOM header response, and the default for plain files', async () => {
    const dataset = await importFolder(await writeFolder('plain'), 'response-default');
    const images = await responses(dataset);
    expect(images['a.jpeg'].detectorResponse).toEqual(DEFAULT);
    expect(images['b.png'].detectorResponse).toEqual(DEFAULT);
    // LIN, sign +1, p = s: a brighter value is more intensity.
    expect(images['detector.dcm'].detectorResponse).toEqual(DICOM_LIN);
    expect(images['detector.dcm'].dicomAttributes).toMatchObject({ PixelIntensityRelationship: 'LIN', PixelIntensityRelationshipSign: 1 });
    // Stored in the TypeScript type's lower-case form.
    const { rows } = await t.app.pool.query(`SELECT detector_response FROM images WHERE dataset_id = $1 AND format = 'dicom'`, [dataset]);
    expect(rows[0].detector_response).toEqual({ mapping: 'linear', polarity: -1, attenuationRange: 4, source: 'dicom' });
  });

  it('gives the plain files the import option (source USER); DICOM keeps its header', async () => {
    const detectorResponse = { mapping: 'LINEAR', polarity: -1, attenuationRange: 6.5 };
    const dataset = await importFolder(await writeFolder('option'), 'response-option', { detectorResponse });
    const got = await responsesOf(dataset);
    const user = { ...detectorResponse, source: 'USER' };
    expect(got).toEqual({ 'a.jpeg': user, 'b.png': user, 'detector.dcm': DICOM_LIN });
  });

  it('defaults the option attenuationRange to 4', async () => {
    const dataset = await importFolder(await writeFolder('option-default'), 'response-option-default', {
      detectorResponse: { mapping: 'LOG', polarity: -1 },
    });
    expect((await responsesOf(dataset))['a.jpeg']).toEqual({ mapping: 'LOG', polarity: -1, attenuationRange: 4, source: 'USER' });
  });

  it.each([
    [{ mapping: 'LOG', polarity: 0 }, 'detectorResponse.polarity'],
    [{ mapping: 'LOG', polarity: 1, attenuationRange: 100 }, 'detectorResponse.attenuationRange'],
    [{ mapping: 'LOG', polarity: 1, attenuationRange: 0.1 }, 'detectorResponse.attenuationRange'],
  ])('refuses a bad import option %j naming %s, before queueing a job', async (detectorResponse, field) => {
    const folder = path.join(root, 'plain');
    const response = await t.gql(IMPORT, { input: { path: folder, datasetName: 'response-refused', detectorResponse } });
    expect(response.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(response.errors?.[0].message).toContain(field);
    const { rows } = await t.app.pool.query(`SELECT 1 FROM datasets WHERE name = 'response-refused'`);
    expect(rows).toEqual([]);
  });
});

describe('distortions of stored images', () => {
  const PREVIEW = `mutation ($id: ID!, $steps: [DistortionStepInput!]!) { previewDistortion(imageId: $id, steps: $steps, seed: 3, backend: CPU) { steps } }`;

  it('take the image’s detector response for the detector-domain kinds, unless a step names it', async () => {
    const images = await responses(await importFolder(await writeFolder('distort'), 'response-distort'));
    const stepsOf = async (file: string, step: Record<string, unknown>) => {
      const result = await t.gql(PREVIEW, { id: images[file].id, steps: [step] });
      expect(result.errors).toBeUndefined();
      return result.data!.previewDistortion.steps[0].params;
    };
    // The DICOM file's header says LIN (+1, MONOCHROME2: brighter is more intensity); the JPEG has the default.
    expect(await stepsOf('detector.dcm', { kind: 'quantum_noise', severity: 0.5 })).toMatchObject({ response: 1, polarity: -1, attenuation_range: 4 });
    expect(await stepsOf('a.jpeg', { kind: 'scatter', severity: 0.5 })).toMatchObject({ response: 0, polarity: 1, attenuation_range: 4 });
    expect(await stepsOf('detector.dcm', { kind: 'grid_lines', params: { amplitude: 0.1, response: 0 } })).toMatchObject({ response: 0, polarity: -1 });
    expect(await stepsOf('detector.dcm', { kind: 'windowing', severity: 0.5 })).not.toHaveProperty('response'); // a display-domain kind
  });
});

describe('setDetectorResponse', () => {
  let dataset: string;
  let images: Record<string, any>;

  beforeAll(async () => {
    dataset = await importFolder(await writeFolder('remark'), 'response-remark');
    images = await responses(dataset);
  });

  it('re-marks every image of a dataset, DICOM included, and counts the ones that changed', async () => {
    const response = { mapping: 'LINEAR', polarity: 1, attenuationRange: 3 };
    const result = await t.gql(SET, { input: { datasetId: dataset, response } });
    expect(result.errors).toBeUndefined();
    expect(result.data!.setDetectorResponse).toBe(3);
    const user = { ...response, source: 'USER' };
    expect(await responsesOf(dataset)).toEqual({ 'a.jpeg': user, 'b.png': user, 'detector.dcm': user });
    // The same again changes nothing.
    expect((await t.gql(SET, { input: { datasetId: dataset, response } })).data!.setDetectorResponse).toBe(0);
    // Other datasets are left as they were.
    const other = await t.gql(`{ datasets { id name } }`);
    const plain = other.data!.datasets.find((d: { name: string }) => d.name === 'response-default').id;
    expect((await responsesOf(plain))['a.jpeg']).toEqual(DEFAULT);
  });

  it('re-marks the images named, and only those (a PIPELINE token may)', async () => {
    const pipeline = await tokenFor(t.app, Role.PIPELINE);
    const ids = [images['a.jpeg'].id, images['detector.dcm'].id];
    const result = await t.gql(SET, { input: { imageIds: ids, response: { mapping: 'LOG', polarity: -1, attenuationRange: 8 } } }, pipeline);
    expect(result.errors).toBeUndefined();
    expect(result.data!.setDetectorResponse).toBe(2);
    const got = await responsesOf(dataset);
    expect(got['a.jpeg']).toEqual({ mapping: 'LOG', polarity: -1, attenuationRange: 8, source: 'USER' });
    expect(got['detector.dcm']).toEqual({ mapping: 'LOG', polarity: -1, attenuationRange: 8, source: 'USER' });
    expect(got['b.png']).toEqual({ mapping: 'LINEAR', polarity: 1, attenuationRange: 3, source: 'USER' });
  });

  it('is audited', async () => {
    const { rows } = await t.app.pool.query(`SELECT role, affected_ids, outcome FROM audit_log WHERE operation = 'setDetectorResponse' ORDER BY id`);
    expect(rows.length).toBeGreaterThanOrEqual(2);
    expect(rows[0]).toMatchObject({ role: 'ADMIN', outcome: 'OK', affected_ids: [dataset] });
  });

  it.each([
    ['polarity 0', () => ({ datasetId: dataset, response: { mapping: 'LOG', polarity: 0 } }), 'response.polarity'],
    ['polarity 2', () => ({ datasetId: dataset, response: { mapping: 'LOG', polarity: 2 } }), 'response.polarity'],
    ['attenuationRange 100', () => ({ datasetId: dataset, response: { mapping: 'LOG', polarity: 1, attenuationRange: 100 } }), 'response.attenuationRange'],
    ['both datasetId and imageIds', () => ({ datasetId: dataset, imageIds: [images['a.jpeg'].id], response: { mapping: 'LOG', polarity: 1 } }), 'imageIds'],
    ['neither datasetId nor imageIds', () => ({ response: { mapping: 'LOG', polarity: 1 } }), 'datasetId'],
    ['no image ids', () => ({ imageIds: [], response: { mapping: 'LOG', polarity: 1 } }), 'imageIds'],
    ['an image id that is no UUID', () => ({ imageIds: ['nope'], response: { mapping: 'LOG', polarity: 1 } }), 'imageIds[0]'],
  ])('refuses %s with BAD_USER_INPUT naming the field, changing nothing', async (_name, input, field) => {
    const before = await responsesOf(dataset);
    const result = await t.gql(SET, { input: input() });
    expect(result.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(result.errors?.[0].message).toMatch(new RegExp(`^${field.replace(/[[\]]/g, '\\$&')}: `));
    expect(await responsesOf(dataset)).toEqual(before);
  });

  it('answers NOT_FOUND for a dataset or an image that does not exist, changing nothing', async () => {
    const before = await responsesOf(dataset);
    const missing = '00000000-0000-4000-8000-000000000000';
    const response = { mapping: 'LOG', polarity: 1 };
    expect((await t.gql(SET, { input: { datasetId: missing, response } })).errors?.[0].extensions?.code).toBe('NOT_FOUND');
    const named = await t.gql(SET, { input: { imageIds: [images['b.png'].id, missing], response } });
    expect(named.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect(await responsesOf(dataset)).toEqual(before);
  });

  it.each([Role.ANALYST, Role.RATER])('refuses a %s token', async (role) => {
    let token: string;
    if (role === Role.RATER) {
      const invited = await t.gql(`mutation { createRater(input: { displayName: "Dr. Response" }) { code } }`);
      const accepted = await t.gql(`mutation ($code: String!) { acceptInvitation(code: $code) { secret } }`, { code: invited.data!.createRater.code }, null);
      token = accepted.data!.acceptInvitation.secret;
    } else {
      token = await tokenFor(t.app, role);
    }
    const before = await responsesOf(dataset);
    const result = await t.gql(SET, { input: { datasetId: dataset, response: { mapping: 'LOG', polarity: 1 } } }, token);
    expect(result.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', field: 'Mutation.setDetectorResponse' });
    expect(await responsesOf(dataset)).toEqual(before);
  });
});

describe('the migration', () => {
  it('gives rows that were there before it the default, and refuses a malformed response', async () => {
    const migration = new DetectorResponse1764700000000();
    const runner = t.app.db.dataSource.createQueryRunner();
    try {
      await migration.down(runner); // the table as it was before
      const datasets: Array<{ id: string }> = await runner.query(`INSERT INTO datasets (name) VALUES ('response-old') RETURNING id`);
      await runner.query(
        `INSERT INTO images (dataset_id, source_path, width, height, channels, bit_depth, format, content_hash, byte_size)
         VALUES ($1, 'old.png', 8, 8, 1, 8, 'png', repeat('0', 64), 10)`,
        [datasets[0].id],
      );
      await migration.up(runner);
      expect(await responsesOf(datasets[0].id)).toEqual({ 'old.png': DEFAULT });
      await expect(
        runner.query(`UPDATE images SET detector_response = '{"mapping":"log","polarity":0,"attenuationRange":4,"source":"user"}' WHERE dataset_id = $1`, [
          datasets[0].id,
        ]),
      ).rejects.toThrow(/images_detector_response_valid/);
    } finally {
      await runner.release();
    }
  });
});
