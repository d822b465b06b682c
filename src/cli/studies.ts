/** `medpsim study ...`: studies through a running server (create, show progress and rater quality, export). */
import { createWriteStream, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { ApiError, request, serverOf, serverOptions } from './client';
import { followJob, jobSummary, type JobView } from './jobs';

const STUDY_FIELDS = `id name state seed progress { raters activeRaters presentations answered itemsShort }`;

interface StudyView {
  id: string;
  name: string;
  state: string;
  progress: { raters: number; activeRaters: number; presentations: number; answered: number; itemsShort: number };
}

function describe(study: StudyView): string {
  const p = study.progress;
  return `${study.name} ${study.state}: ${p.answered}/${p.presentations} presentations answered, ${p.activeRaters} of ${p.raters} raters active` +
    `${p.itemsShort ? `, ${p.itemsShort} items short of judgments` : ''}  [${study.id}]`;
}

export function registerStudyCommands(program: Command): void {
  const study = program.command('study').description('studies: test sets judged by a panel of raters');

  serverOptions(study.command('create'))
    .description('start a study (a JSON file with the fields of CreateStudyInput: name, testSetIds, raterIds, simulatedRaters, protocol, seed)')
    .argument('<study.json>', 'the study')
    .option('--json', 'print JSON')
    .action(async (file: string, options) => {
      const input = JSON.parse(readFileSync(file, 'utf8'));
      const { createStudy } = await request<{ createStudy: StudyView }>(serverOf(options), `mutation ($input: CreateStudyInput!) { createStudy(input: $input) { ${STUDY_FIELDS} } }`, {
        input,
      });
      console.log(options.json ? JSON.stringify(createStudy) : describe(createStudy));
    });

  serverOptions(study.command('show'))
    .description("a study's progress and its raters' quality (sentinels, retests, response times, exclusions)")
    .argument('<id>', 'study id')
    .option('--include-simulated', 'count simulated raters as included')
    .option('--json', 'print JSON')
    .action(async (id: string, options) => {
      const { study: found } = await request<{
        study: StudyView & {
          raterQuality: Array<{ pseudonym: string; simulated: boolean; judgments: number; sentinelPassRate: number | null; retestAgreement: number | null; medianResponseMs: number | null; reasons: string[] }>;
        };
      }>(
        serverOf(options),
        `query ($id: ID!, $sim: Boolean!) { study(id: $id) { ${STUDY_FIELDS} raterQuality(includeSimulated: $sim) { pseudonym simulated judgments sentinelPassRate retestAgreement medianResponseMs reasons } } }`,
        { id, sim: options.includeSimulated === true },
      );
      if (options.json) {
        console.log(JSON.stringify(found, null, 2));
        return;
      }
      console.log(describe(found));
      const rate = (value: number | null) => (value === null ? '-' : value.toFixed(2));
      for (const rater of found.raterQuality) {
        const flags = rater.reasons.length ? `  excluded: ${rater.reasons.join('; ')}` : '';
        console.log(
          `  ${rater.pseudonym}${rater.simulated ? ' (simulated)' : ''}: ${rater.judgments} judgments, sentinels ${rate(rater.sentinelPassRate)}, ` +
            `retest ${rate(rater.retestAgreement)}, median ${rater.medianResponseMs ?? '-'} ms${flags}`,
        );
      }
    });

  serverOptions(study.command('export'))
    .description('export a study (BAPPS layout, originals, judgments.csv, manifest) and download it as a zip')
    .argument('<id>', 'study id')
    .requiredOption('-o, --out <file.zip>', 'where to write the zip')
    .option('--include-simulated', "count simulated raters' judgments in the judge/same values")
    .action(async (id: string, options) => {
      const server = serverOf(options);
      const { exportStudy } = await request<{ exportStudy: JobView }>(server, `mutation ($id: ID!, $sim: Boolean!) { exportStudy(studyId: $id, includeSimulated: $sim) { id } }`, {
        id,
        sim: options.includeSimulated === true,
      });
      const job = await followJob(server, exportStudy.id, process.stderr.isTTY === true);
      console.error(jobSummary(job));
      if (job.state !== 'COMPLETED') {
        process.exitCode = 1;
        return;
      }
      const response = await fetch(`${server.url}/exports/${job.id}.zip`, { headers: server.token ? { authorization: `Bearer ${server.token}` } : {} });
      if (!response.ok || !response.body) throw new ApiError(`download failed: HTTP ${response.status}`, null);
      await pipeline(Readable.fromWeb(response.body as never), createWriteStream(options.out));
      console.log(options.out);
    });
}
