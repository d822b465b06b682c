/** Job states, item outcomes and the registry of job kinds (each domain adds its kinds). */

export enum JobState {
  QUEUED = 'QUEUED',
  RUNNING = 'RUNNING',
  COMPLETED = 'COMPLETED',
  FAILED = 'FAILED',
  CANCELLED = 'CANCELLED',
}

export const FINISHED_STATES: readonly JobState[] = [JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED];

export enum ItemOutcome {
  DONE = 'DONE',
  SKIPPED = 'SKIPPED',
  FAILED = 'FAILED',
}

/**
 * Every job kind by name, filled as the domains define their jobs (jobs/runtime.ts) and read when the
 * schema is built: the GraphQL enum JobKind (src/entities/Job.ts) has exactly the kinds of the modules.
 */
export const JOB_KINDS: Record<string, string> = {};
export const JOB_KIND_DESCRIPTIONS: Record<string, { description: string }> = {};

export function registerJobKind(kind: string, description: string): void {
  if (!/^[A-Z][A-Z0-9_]*$/.test(kind)) throw new Error(`job kind must be UPPER_CASE, got "${kind}"`);
  if (JOB_KINDS[kind]) throw new Error(`job kind ${kind} is defined twice`);
  JOB_KINDS[kind] = kind;
  JOB_KIND_DESCRIPTIONS[kind] = { description };
}
