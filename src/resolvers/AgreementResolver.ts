import { Arg, Ctx, ID, Query, Resolver } from 'type-graphql';
import { studyAnalysis } from '../agreement/service';
import type { RequestContext } from '../platform/context';
import { AnalysisInput, StudyAnalysisView } from '../schema/agreement';
import { Allow, READERS } from '../schema/guards';
import { analysisView } from '../agreement/views';

const ANALYSIS_COMPLEXITY = 100;

@Resolver()
export class AgreementResolver {
  @Allow(...READERS)
  @Query(() => StudyAnalysisView, {
    // One computation whatever is selected (its lists are parts of one result, not pages of the store).
    complexity: () => ANALYSIS_COMPLEXITY,
    description:
      "A study's analysis: each metric's 2AFC score and JND mAP against the physicians' judgments with human ceilings, bootstrap intervals and paired comparisons (overall, per category, per kind), rater agreement and psychometric curves. Seeded: a rerun gives the same figures.",
  })
  async studyAnalysis(
    @Arg('studyId', () => ID) studyId: string,
    @Arg('input', () => AnalysisInput, { nullable: true }) input: AnalysisInput | null,
    @Ctx() { app }: RequestContext,
  ): Promise<StudyAnalysisView> {
    return analysisView(await studyAnalysis(app, studyId, input ?? {}));
  }
}
