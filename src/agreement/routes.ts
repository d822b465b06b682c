/**
 * The analysis over plain HTTP, for the /analysis/<study> page (web/analysis) and for scripts, ANALYST and
 * ADMIN only (the page itself is public and holds no data):
 *   GET /analysis/:id/report.html            the report (?download=1: a self-contained file to keep)
 *   GET /analysis/:id/charts/:chart.csv|json a chart's rows
 * both with the analysis options as query parameters (includeSimulated, twoWay, resamples, seed,
 * confidence), checked by analysisOptions like GraphQL's. The report's stylesheet is public at
 * /analysis/report.css, so the page can style the report's body under its strict CSP.
 * Paths of the server's own layers (signed image links) come in from module.ts: domain code does not import them.
 */
import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import { renderPng } from '../imaging/render';
import type { App } from '../platform/app';
import { Role, type RequestContext } from '../platform/context';
import { AppError, badUserInput, quoted } from '../platform/errors';
import type { HttpRoute } from '../platform/module';
import { itemPicture } from '../testsets/service';
import { analysisChart, CHART_IDS, chartCsv, chartJson, isChartId } from './charts';
import { analysisReport, REPORT_CSS, REPORT_STYLE, reportFileName, type ImageSource } from './report';
import { studyAnalysis, type AnalysisRequest } from './service';

/** A signed link to a test-set item's image (server/image-route.ts imageUrl). */
export type ImageLinks = (context: RequestContext, collection: 'test-set-items', id: string, options: { depth: number }) => Promise<string>;

const ACCESS = { roles: [Role.ANALYST, Role.ADMIN] };
const FORMATS = ['csv', 'json'] as const;

/** The report may use its own <style> and images from here or inline, nothing else. */
const REPORT_POLICY = `default-src 'none'; img-src 'self' data:; style-src 'sha256-${createHash('sha256').update(REPORT_STYLE).digest('base64')}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

function booleanParam(request: Request, name: string): boolean | null {
  const raw = request.query[name];
  if (raw === undefined) return null;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw badUserInput(name, `must be true or false (or 1 or 0), got ${quoted(raw)}`);
}

/** A number for analysisOptions to check; anything that is not one becomes NaN, which it refuses by name. */
function numberParam(request: Request, name: string): number | null {
  const raw = request.query[name];
  if (raw === undefined) return null;
  return typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
}

function analysisRequest(request: Request): AnalysisRequest {
  return {
    includeSimulated: booleanParam(request, 'includeSimulated'),
    twoWay: booleanParam(request, 'twoWay'),
    resamples: numberParam(request, 'resamples'),
    seed: numberParam(request, 'seed'),
    confidence: numberParam(request, 'confidence'),
  };
}

function attachment(response: Response, fileName: string): void {
  response.setHeader('Content-Disposition', `attachment; filename="${fileName}"`);
}

/** Images inline as data: URIs (the 8-bit windowed PNG the image routes serve), for a file that must stand alone. */
function embeddedImages(app: App): ImageSource {
  return async (itemId, slot) => {
    const picture = await itemPicture(app, itemId, slot);
    const png = await renderPng(await app.blobs.read(picture.contentHash), { depth: 8, window: picture.window });
    return `data:image/png;base64,${png.toString('base64')}`;
  };
}

function linkedImages(context: RequestContext, links: ImageLinks): ImageSource {
  return (itemId, slot) => links(context, 'test-set-items', `${itemId}/${slot}`, { depth: 8 });
}

/** Public: styles only. Registered before the page's /analysis/:id, which would take "report.css" for a study. */
export const reportStylesheetRoute: HttpRoute = {
  method: 'get',
  path: '/analysis/report.css',
  access: { public: true },
  async handle(_context, _request, response) {
    response.setHeader('Content-Type', 'text/css; charset=utf-8');
    response.setHeader('X-Content-Type-Options', 'nosniff');
    response.setHeader('Cache-Control', 'no-cache');
    response.end(REPORT_CSS);
  },
};

export function analysisRoutes(links: ImageLinks): HttpRoute[] {
  return [
    {
      method: 'get',
      path: '/analysis/:id/report.html',
      access: ACCESS,
      async handle(context, request, response) {
        const download = booleanParam(request, 'download') ?? false;
        const analysis = await studyAnalysis(context.app, String(request.params.id), analysisRequest(request));
        const images = download ? embeddedImages(context.app) : linkedImages(context, links);
        const report = await analysisReport(analysis, { images, embedChartData: download });
        response.setHeader('Content-Type', 'text/html; charset=utf-8');
        response.setHeader('Content-Security-Policy', REPORT_POLICY);
        response.setHeader('X-Content-Type-Options', 'nosniff');
        // It holds signed image links and the study's figures: not for shared caches, nor to keep.
        response.setHeader('Cache-Control', 'no-store');
        if (download) attachment(response, reportFileName(analysis.study.name));
        response.end(report);
      },
    },
    {
      method: 'get',
      path: '/analysis/:id/charts/:chart.:format',
      access: ACCESS,
      async handle(context, request, response) {
        const chartId = String(request.params.chart);
        const format = String(request.params.format);
        if (!isChartId(chartId)) {
          throw new AppError('NOT_FOUND', `chart ${quoted(chartId)} not found: the charts are ${CHART_IDS.join(', ')}`, { chart: chartId.slice(0, 80), charts: [...CHART_IDS] });
        }
        if (!(FORMATS as readonly string[]).includes(format)) {
          throw new AppError('NOT_FOUND', `format ${quoted(format)} not found: the formats are ${FORMATS.join(', ')}`, { format: format.slice(0, 80), formats: [...FORMATS] });
        }
        const analysis = await studyAnalysis(context.app, String(request.params.id), analysisRequest(request));
        const chart = analysisChart(analysis, chartId);
        response.setHeader('Cache-Control', 'no-store');
        attachment(response, reportFileName(analysis.study.name, `${chart.id}.${format}`));
        if (format === 'csv') {
          response.setHeader('Content-Type', 'text/csv; charset=utf-8');
          response.end(chartCsv(chart));
        } else {
          response.json(chartJson(analysis, chart));
        }
      },
    },
  ];
}
