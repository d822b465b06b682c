/** docs/zoo.md, generated from the knob catalog (zoo-knobs.ts) and the zoo's defaults by `npm run gen:catalog`. */
import { CORRUPTIONS } from '../distortions/catalog';
import { DEFAULT_GUARD, ZOO_DEFAULT_OPTIONS, ZOO_LIMITS } from './zoo';
import { describeRange, ZOO_KNOBS, ZOO_POOL_DEFAULTS } from './zoo-knobs';

export const ZOO_DOC = 'docs/zoo.md';

export function renderZooMarkdown(): string {
  const lines = [
    '# Generator zoos',
    '',
    'Generated from `src/training/zoo-knobs.ts` by `npm run gen:catalog`: do not edit.',
    '',
    "BAPPS's CNN category came from 96 networks, each trained briefly, so that its distortions cover the variety",
    'of artefacts real algorithms make. A zoo is that: K generators (`trainGeneratorZoo`, `medpsim train zoo`) whose',
    "knobs (the study's Table 1) are drawn, seeded, from stated ranges, each trained by `train-gan` on a dataset",
    'of the server, registered as the models `<zoo>-m000`, `<zoo>-m001`, ... and listed under the zoo\'s name',
    '(`modelZoos`, `modelZoo(name)`, `medpsim zoos`).',
    '',
    `- **Size:** K from ${ZOO_LIMITS.size.min} to ${ZOO_LIMITS.size.max}, default ${ZOO_LIMITS.size.default}. What 96 members cost on this machine is in BENCHMARKS.md ("Generator zoo").`,
    `- **Training:** every member shares the request's \`options\` (train-gan's, without the knobs and the seed; default \`${JSON.stringify(ZOO_DEFAULT_OPTIONS)}\`),`,
    '  on the GPU when the worker has one (`device` AUTO). The image size must suit the largest generator and',
    '  discriminator the ranges allow; the request is refused otherwise.',
    "- **Styles:** `objective` reconstruct members are DAE-style (BAPPS's autoencoders): the clean image from a",
    '  corrupted one, registered with task `dae` and applied by the `dae_reconstruction` kind. Imitate members are',
    "  GAN-style (the study's GAN): the image to one of the engine's noise kinds, which the trainer reproduces bit",
    '  for bit, registered with task `gan-generator` and applied by `gan_generator`. A `wAdv` of 0 trains no',
    '  discriminator.',
    "- **Draws:** member i's knobs come from a stream of its own (seed, i, draw), in the order of the table below, so",
    "  one member's knobs do not depend on another's. Only the knobs a member uses are recorded: no target for",
    '  reconstructing members, no level without a corruption, no discriminator without an adversarial loss. Each',
    "  member's trainer seed is drawn from the zoo's seed too. The knobs go into the member's manifest",
    '  (`zooMember`: zoo, index, draw, seed, knobs) beside its training summary, metrics and SHA-256.',
    '- **The job:** TRAIN_ZOO, one item per member, one member per unit. Progress counts members; a cancel stops the',
    '  member in training; a worker that dies or stops loses only the member in training: the unit runs again and',
    '  members already recorded are not trained again.',
    '',
    '## The degeneracy guard',
    '',
    'After training, the trainer feeds clean held-out images x (the test part, else the validation part, else up',
    'to 16 training images) through the member in eval mode and reports `rmsChange` = RMS(G(x) - x) and',
    '`contrastRatio` = mean std(G(x_i)) / mean std(x_i). A draw is **degenerate** when its output is not finite, or',
    `\`rmsChange\` < \`guard.minRmsChange\` (default ${DEFAULT_GUARD.minRmsChange}: it is nearly the identity, under one 8-bit grey level), or`,
    `\`contrastRatio\` < \`guard.minContrastRatio\` (default ${DEFAULT_GUARD.minContrastRatio}: it is nearly constant). A degenerate draw is kept as a`,
    "`DEGENERATE` draw with its statistics and reason (`degenerateDraws`), its files are not registered, and the member's",
    `next draw is trained instead, up to \`guard.draws\` draws (default ${DEFAULT_GUARD.draws}); after that the member is given up (item`,
    'FAILED, code DEGENERATE) and the zoo is READY with fewer members.',
    '',
    '## Knobs',
    '',
    'A request names a range per knob: `[min, max]` for numbers (log-uniform where marked), a list of allowed',
    'values for choices. Knobs left out take the default range; an unknown knob, an empty list or an inverted',
    'range is BAD_USER_INPUT naming `ranges.<knob>`.',
    '',
    '| knob | group | type | may span | default range | meaning |',
    '|---|---|---|---|---|---|',
  ];
  for (const knob of ZOO_KNOBS) {
    const span = knob.type === 'choice' ? knob.values : knob.limits;
    lines.push(`| \`${knob.name}\` | ${knob.group} | ${knob.type} | ${describeRange(knob, span)} | ${describeRange(knob, knob.default)} | ${knob.description} |`);
  }
  lines.push(
    '',
    '## Test sets that draw from a zoo',
    '',
    'A pool entry `{ zoo: "<name>", corruptions, levelMin, levelMax, severityMin, severityMax }` draws, per item and',
    'seeded, a member, an input corruption and its level, and the mix (the severity range). The corruptions are',
    `the CNN kinds' codes (${CORRUPTIONS.join(', ')}; default ${ZOO_POOL_DEFAULTS.corruptions.join(', ')}), the level`,
    `defaults to ${ZOO_POOL_DEFAULTS.level[0]} .. ${ZOO_POOL_DEFAULTS.level[1]}. The zoo must be READY; its members (name, kind, SHA-256) are frozen into the`,
    "set's definition, so the set rebuilds exactly. Each item's choice records `zoo: { name, member }` and the step's",
    'params (corruption, level, mix), so results can be broken down by any knob of the member.',
    '',
  );
  return lines.join('\n');
}
