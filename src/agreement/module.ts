/**
 * Agreement: the study's answer. Do the metrics agree with the physicians? 2AFC scores and JND mAP with
 * human ceilings and seeded bootstrap intervals, paired comparisons, rater agreement, psychometric curves,
 * the analysis page and its report. Reads judgments (studies) and stored scores (metrics); nothing reads it.
 */
import { registerAnalysisCommand } from '../cli/analysis';
import type { DomainModule } from '../platform/module';
import { AgreementResolver } from '../resolvers/AgreementResolver';
import { imageUrl } from '../server/image-route';
import { webAppRoutes } from '../server/web-route';
import { analysisRoutes, reportStylesheetRoute } from './routes';

export const agreementModule: DomainModule = {
  name: 'agreement',
  resolvers: [AgreementResolver],
  cli: registerAnalysisCommand,
  routes: [
    // Before the page's /analysis/:id, which would take "report.css" for a study id; the page's assets
    // (/analysis/assets/:file) before the data routes, so that no asset is read as a study.
    reportStylesheetRoute,
    // The analysis page (web/analysis) asks for an ANALYST or ADMIN token itself; the page holds no data.
    ...webAppRoutes('analysis', '/analysis/:id', '/analysis/assets'),
    ...analysisRoutes(imageUrl),
  ],
};
