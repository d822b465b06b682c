/** The training request's checks (allow-list per task, ranges, names) and the trainer's command line. */
import { inputError } from '../helpers/errors';
import {
  checkModelName,
  checkTrainingOptions,
  OPTIONS,
  trainerArgs,
  TrainingDevice,
  TrainingTask,
} from '../../src/training/options';


it('accepts options in range and keeps them as given', () => {
  const options = { epochs: 3, batchSize: 1024, lr: 1e-3, imageSize: 64, seed: 2 ** 53 - 1, nondeterministic: true, valSource: 'folder' };
  expect(checkTrainingOptions(TrainingTask.CLASSIFIER, options)).toEqual(options);
  expect(checkTrainingOptions(TrainingTask.DAE, { depth: 2, imageSize: 16, noiseSigma: 0 })).toEqual({ depth: 2, imageSize: 16, noiseSigma: 0 });
  expect(checkTrainingOptions(TrainingTask.GAN, { gFirstStride: 1, gLayers: 3, imageSize: 16 })).toBeTruthy();
});

it.each([
  [TrainingTask.DAE, { epochs: 0 }, 'options.epochs', /integer in \[1, 500\], got 0/],
  [TrainingTask.DAE, { epochs: 501 }, 'options.epochs', /integer in \[1, 500\]/],
  [TrainingTask.DAE, { epochs: 2.5 }, 'options.epochs', /integer/],
  [TrainingTask.DAE, { epochs: '3' }, 'options.epochs', /got "3"/],
  [TrainingTask.DAE, { batchSize: 1025 }, 'options.batchSize', /\[1, 1024\]/],
  [TrainingTask.DAE, { lr: 0 }, 'options.lr', /number in \(0, 10\]/],
  [TrainingTask.DAE, { lr: 10.5 }, 'options.lr', /\(0, 10\]/],
  [TrainingTask.DAE, { imageSize: 8 }, 'options.imageSize', /\[16, 1024\]/],
  [TrainingTask.DAE, { seed: -1 }, 'options.seed', /\[0, 9007199254740991\]/],
  [TrainingTask.DAE, { valFraction: 1 }, 'options.valFraction', /\[0, 1\)/],
  [TrainingTask.DAE, { valSource: 'test' }, 'options.valSource', /one of train, folder/],
  [TrainingTask.DAE, { nondeterministic: 'yes' }, 'options.nondeterministic', /true or false/],
  [TrainingTask.DAE, { imageSize: 100 }, 'options.imageSize', /multiple of 8/],
  [TrainingTask.GAN, { imageSize: 96 }, 'options.imageSize', /multiple of 64/],
  [TrainingTask.GAN, { gFirstStride: 3 }, 'options.gFirstStride', /one of 1, 2/],
  [TrainingTask.CLASSIFIER, { weights: 'relative/file.pt' }, 'options.weights', /imagenet, none or the absolute path/],
  [TrainingTask.CLASSIFIER, { weights: '/nonexistent/weights.pt' }, 'options.weights', /no such file/],
])('%s %j is refused, naming %s', (task, options, field, message) => {
  const error = inputError(() => checkTrainingOptions(task, options));
  expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
  expect(error.message).toMatch(message);
});

it('refuses options of another task, and the ones the server sets, listing the allowed ones', () => {
  for (const name of ['noiseSigma', 'data', 'outDir', 'name', 'device', 'noExport', 'batch_size']) {
    const error = inputError(() => checkTrainingOptions(TrainingTask.CLASSIFIER, { [name]: 1 }));
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: `options.${name}` });
    expect(error.extensions.allowed).toEqual(Object.keys(OPTIONS[TrainingTask.CLASSIFIER]));
  }
});

it('checks model names: they become file names', () => {
  expect(checkModelName('dae-small_2')).toBe('dae-small_2');
  expect(checkModelName('GAN.v2')).toBe('GAN.v2');
  expect(checkModelName('a'.repeat(100))).toHaveLength(100);
  for (const bad of ['', 'a b', '../x', '.hidden', 'a/b', '-flag', '_x', 'a'.repeat(101)]) {
    expect(inputError(() => checkModelName(bad)).extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name' });
  }
});

it('writes the command line the trainer expects', () => {
  const args = trainerArgs(
    {
      task: TrainingTask.GAN,
      name: 'gan-test',
      device: TrainingDevice.CUDA,
      options: { batchSize: 4, gForceTopSkip: true, nondeterministic: false, targetKind: 'uniform_noise', lrD: 0.0001 },
    },
    '/data/in',
    '/data/out',
  );
  expect(args).toEqual([
    'train-gan', '--data', '/data/in', '--out-dir', '/data/out', '--name', 'gan-test', '--device', 'cuda',
    '--batch-size', '4', '--g-force-top-skip', '--target-kind', 'uniform_noise', '--lr-d', '0.0001',
  ]);
});
