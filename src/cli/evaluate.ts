/** `medpsim evaluate MODEL --dataset D [--split test]`: the classifier's evaluation on a running server. */
import type { Command } from 'commander';
import { datasetId, request, serverOf, serverOptions } from './client';
import { followJob, jobSummary } from './jobs';


const EVALUATION = `model positiveClass images missing otherLabels n positives negatives accuracy sensitivity specificity auc aucCi95
  confusion { tp fp tn fn } roc { threshold fpr tpr }`;

const percent = (value: number | null) => (value === null ? 'n/a' : `${(100 * value).toFixed(1)}%`);

export function registerEvaluateCommand(program: Command): void {
  serverOptions(program.command('evaluate'))
    .description("run a registered classifier on a dataset split (a job, with a progress bar) and print accuracy, sensitivity, specificity, ROC AUC with its 95% CI and the confusion matrix")
    .argument('<model>', 'a registered classifier')
    .requiredOption('-d, --dataset <id-or-name>', 'a dataset on the server')
    .option('-s, --split <split>', 'train, test or val (default: every image)')
    .option('--json', 'print the evaluation as JSON (with the ROC curve)')
    .action(async (model: string, options) => {
      const server = serverOf(options);
      const dataset = await datasetId(server, options.dataset);
      const variables = { model, dataset, split: options.split ?? null };
      const { evaluateClassifier } = await request<{ evaluateClassifier: { id: string } }>(
        server,
        `mutation ($model: String!, $dataset: ID!, $split: String) { evaluateClassifier(model: $model, datasetId: $dataset, split: $split) { id } }`,
        variables,
      );
      const job = await followJob(server, evaluateClassifier.id, !options.json && process.stderr.isTTY === true, 'batches');
      if (!options.json) console.error(jobSummary(job));
      const { classifierEvaluation: e } = await request<{ classifierEvaluation: any }>(
        server,
        `query ($model: String!, $dataset: ID!, $split: String) { classifierEvaluation(model: $model, datasetId: $dataset, split: $split) { ${EVALUATION} } }`,
        variables,
      );
      if (options.json) {
        console.log(JSON.stringify(e));
      } else {
        const ci = e.aucCi95 ? ` (95% CI ${e.aucCi95[0].toFixed(3)} to ${e.aucCi95[1].toFixed(3)})` : '';
        console.log(`${e.model} on ${e.n} images (${e.positives} ${e.positiveClass}, ${e.negatives} other)${e.missing ? `, ${e.missing} not predicted` : ''}`);
        console.log(`accuracy ${percent(e.accuracy)}  sensitivity ${percent(e.sensitivity)}  specificity ${percent(e.specificity)}  AUC ${e.auc === null ? 'n/a' : e.auc.toFixed(3)}${ci}`);
        console.log(`confusion: TP ${e.confusion.tp}  FN ${e.confusion.fn}  FP ${e.confusion.fp}  TN ${e.confusion.tn}`);
      }
      if (job.state !== 'COMPLETED' || job.failed > 0) process.exitCode = 1;
    });
}
