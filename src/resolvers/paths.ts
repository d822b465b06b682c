/**
 * Server paths as each role sees them. ADMIN and PIPELINE (who give the server paths) see them as they are;
 * other roles see paths inside the import roots as they are, and any other server path only by what it is:
 * `<models folder>/x.onnx`, `<data folder>/...`, or `<server path>`.
 */
import path from 'node:path';
import { MODEL_SETTINGS } from '../models/settings';
import { isInside } from '../platform/files';
import { Role, type RequestContext } from '../platform/context';

function seesServerPaths(context: RequestContext): boolean {
  return context.principal?.role === Role.ADMIN || context.principal?.role === Role.PIPELINE;
}

function labelled(context: RequestContext): Array<[string, string | null]> {
  const { config } = context.app;
  return [
    ...config.importRoots.map((root): [string, string | null] => [root, null]),
    [context.app.settings(MODEL_SETTINGS).modelsDir, '<models folder>'],
    [config.dataDir, '<data folder>'],
  ];
}

/** One path, as this request's role may see it. */
export function shownPath(context: RequestContext, value: string | null): string | null {
  if (value === null || seesServerPaths(context) || !path.isAbsolute(value)) return value;
  for (const [root, label] of labelled(context)) {
    if (isInside(root, value)) return label === null ? value : path.posix.join(label, path.relative(root, value).split(path.sep).join('/'));
  }
  return '<server path>';
}

/** A text (an error, a log) with the server paths outside the import roots replaced by what they are. */
export function shownText(context: RequestContext, value: string | null): string | null {
  if (value === null || seesServerPaths(context)) return value;
  // A path starts after a space, a quote or an opening bracket: not inside a URL (http://host/...) or a word.
  return value.replace(/(?<![\w.~:/-])\/[^\s'"`:,;()]+/g, (found) => shownPath(context, found) ?? found);
}

/** Job parameters with every absolute path in them shown as this role may see it. */
export function shownParams(context: RequestContext, params: unknown): unknown {
  if (seesServerPaths(context)) return params;
  if (typeof params === 'string') return path.isAbsolute(params) ? shownPath(context, params) : params;
  if (Array.isArray(params)) return params.map((value) => shownParams(context, value));
  if (params && typeof params === 'object') return Object.fromEntries(Object.entries(params).map(([key, value]) => [key, shownParams(context, value)]));
  return params;
}
