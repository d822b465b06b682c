import { GraphQLJSONObject } from 'graphql-scalars';
import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { Job } from '../entities/Job';
import { Rater } from '../entities/Rater';
import { Study } from '../entities/Study';
import { TestSet } from '../entities/TestSet';
import { Role, type RequestContext } from '../platform/context';
import { Allow, PIPELINES, READERS, SelfRecorded } from '../schema/guards';
import {
  CreateStudyInput,
  DisplayCheckInput,
  ExclusionRulesInput,
  ItemAggregates,
  PanelChangeView,
  RaterImages,
  RaterPresentation,
  RaterQualityView,
  RaterStudy,
  SimulatedRaterToken,
  StudyProgressView,
  JudgmentReceipt,
  SubmitJudgmentInput,
} from '../schema/studies';
import { signedPath } from '../access/signed-urls';
import { imageUrl } from '../server/image-route';
import { DISPLAY_CHECK_STEPS, recordDisplayCheck } from '../studies/display-check';
import { startExport } from '../studies/export';
import * as judgments from '../studies/judgments';
import * as quality from '../studies/quality';
import * as studies from '../studies/service';
import { addSimulatedRaters, simulatedRaterTokens } from '../studies/simulated';
import { getTestSet } from '../testsets/service';

@Resolver()
export class StudyResolver {
  @Allow(...READERS)
  @Query(() => [Study], { description: 'Studies, newest first.' })
  studies(
    @Arg('first', () => Int, { defaultValue: 50 }) first: number,
    @Arg('offset', () => Int, { defaultValue: 0 }) offset: number,
    @Ctx() { app }: RequestContext,
  ): Promise<Study[]> {
    return studies.listStudies(app, { first, offset });
  }

  @Allow(...READERS)
  @Query(() => Study)
  study(@Arg('id', () => ID) id: string, @Ctx() { app }: RequestContext): Promise<Study> {
    return studies.getStudy(app, id);
  }

  @Allow(...PIPELINES)
  @Mutation(() => Study, { description: "Starts a study: locks its test sets and lays out every rater's presentations." })
  createStudy(@Arg('input') input: CreateStudyInput, @Ctx() { app }: RequestContext): Promise<Study> {
    return studies.createStudy(app, input);
  }

  @Allow(...PIPELINES)
  @Mutation(() => PanelChangeView, { description: 'Raters join a running study; open items move to them until open loads are even.' })
  addStudyRaters(@Arg('studyId', () => ID) studyId: string, @Arg('raterIds', () => [ID]) raterIds: string[], @Ctx() { app }: RequestContext): Promise<PanelChangeView> {
    return studies.addStudyRaters(app, studyId, raterIds);
  }

  @Allow(...PIPELINES)
  @Mutation(() => PanelChangeView, { description: "A rater leaves a study: their judgments stay; their open items go to other raters." })
  withdrawStudyRater(@Arg('studyId', () => ID) studyId: string, @Arg('raterId', () => ID) raterId: string, @Ctx() { app }: RequestContext): Promise<PanelChangeView> {
    return studies.withdrawStudyRater(app, studyId, raterId);
  }

  @Allow(...PIPELINES)
  @Mutation(() => Study, { description: 'Ends judging: raters get no more presentations.' })
  closeStudy(@Arg('id', () => ID) id: string, @Ctx() { app }: RequestContext): Promise<Study> {
    return studies.closeStudy(app, id);
  }

  @Allow(...READERS)
  @Mutation(() => Study, { description: 'Sets which raters analyses leave out (replacing the rules before); no data is deleted.' })
  setStudyExclusions(@Arg('studyId', () => ID) studyId: string, @Arg('rules') rules: ExclusionRulesInput, @Ctx() { app }: RequestContext): Promise<Study> {
    return quality.setExclusionRules(app, studyId, rules);
  }

  @Allow(...READERS)
  @Mutation(() => Job, { description: 'Exports the study as a job: BAPPS layout, originals, judgments.csv, manifest; download /exports/<job id>.zip once COMPLETED.' })
  async exportStudy(
    @Arg('studyId', () => ID) studyId: string,
    @Arg('includeSimulated', { defaultValue: false, description: "Count simulated raters' judgments in the judge/same values." }) includeSimulated: boolean,
    @Ctx() { app }: RequestContext,
  ): Promise<Job> {
    const jobId = await startExport(app, studyId, includeSimulated);
    return app.db.dataSource.getRepository(Job).findOneByOrFail({ id: jobId });
  }

  @Allow(...PIPELINES)
  @Mutation(() => [SimulatedRaterToken], { description: 'Simulated raters join the study; their tokens are returned once (medpsim simulate-panel).' })
  async addSimulatedRaters(
    @Arg('studyId', () => ID) studyId: string,
    @Arg('count', () => Int) count: number,
    @Arg('observer', { description: 'The observer model, as the simulating client describes it.' }) observer: string,
    @Ctx() { app }: RequestContext,
  ): Promise<SimulatedRaterToken[]> {
    return (await addSimulatedRaters(app, studyId, count, observer)).raters;
  }

  @Allow(...PIPELINES)
  @Mutation(() => [SimulatedRaterToken], { description: "Fresh tokens for the study's active simulated raters." })
  simulatedRaterTokens(@Arg('studyId', () => ID) studyId: string, @Ctx() { app }: RequestContext): Promise<SimulatedRaterToken[]> {
    return simulatedRaterTokens(app, studyId);
  }
}

@Resolver(() => Study)
export class StudyFieldsResolver {
  @FieldResolver(() => [TestSet])
  async testSets(@Root() study: Study, @Ctx() { app }: RequestContext): Promise<TestSet[]> {
    const { rows } = await app.pool.query<{ id: string }>(`SELECT test_set_id AS id FROM study_test_sets WHERE study_id = $1 ORDER BY test_set_id`, [study.id]);
    return Promise.all(rows.map((row) => getTestSet(app, row.id)));
  }

  @FieldResolver(() => [Rater], { description: 'The panel, in the order raters joined.' })
  async raters(@Root() study: Study, @Ctx() { app }: RequestContext): Promise<Rater[]> {
    const { rows } = await app.pool.query(
      `SELECT r.id, r.pseudonym, r.display_name AS "displayName", r.specialty, r.years_of_experience AS "yearsOfExperience", r.simulated, r.created_at AS "createdAt"
       FROM study_raters sr JOIN raters r ON r.id = sr.rater_id WHERE sr.study_id = $1 ORDER BY sr.stream`,
      [study.id],
    );
    return rows.map((row) => Object.assign(new Rater(), row));
  }

  @FieldResolver(() => StudyProgressView)
  progress(@Root() study: Study, @Ctx() { app }: RequestContext): Promise<StudyProgressView> {
    return studies.studyProgress(app, study.id);
  }

  @FieldResolver(() => [RaterQualityView], { description: 'Per rater: sentinels, retests, response times, and whether the exclusion rules leave them out.' })
  raterQuality(@Root() study: Study, @Arg('includeSimulated', { defaultValue: false }) includeSimulated: boolean, @Ctx() { app }: RequestContext): Promise<RaterQualityView[]> {
    return quality.raterQuality(app, study.id, { includeSimulated });
  }

  @FieldResolver(() => ItemAggregates, { description: 'Per item: judgments, the fraction choosing p1 (2AFC) or saying same (JND), and the raters used.' })
  itemJudgments(
    @Root() study: Study,
    @Arg('includeSimulated', { defaultValue: false }) includeSimulated: boolean,
    @Arg('testSetId', () => ID, { nullable: true }) testSetId: string | null,
    @Arg('first', () => Int, { defaultValue: 1000 }) first: number,
    @Arg('offset', () => Int, { defaultValue: 0 }) offset: number,
    @Ctx() { app }: RequestContext,
  ): Promise<ItemAggregates> {
    return quality.itemAggregates(app, study.id, { includeSimulated, testSetId, first, offset });
  }
}

/** The rater API: a RATER token reaches only its own rater's presentations. */
@Resolver()
export class RaterResolver {
  @Allow(Role.RATER)
  @Query(() => [RaterStudy], { description: 'The studies you are in, with your progress.' })
  async myStudies(@Ctx() context: RequestContext): Promise<RaterStudy[]> {
    const studies = await judgments.raterStudies(context.app, context.principal!.raterId!);
    return Promise.all(studies.map(async (study) => ({ ...study, displayCheckImage: `${context.baseUrl}${await signedPath(context.app, `/display-checks/${study.id}.png`)}`, displayCheckSteps: DISPLAY_CHECK_STEPS })));
  }

  @Allow(Role.RATER)
  @Query(() => RaterPresentation, { nullable: true, description: 'Your next presentation in a study (null when you are done).' })
  async nextPresentation(@Arg('studyId', () => ID) studyId: string, @Ctx() context: RequestContext): Promise<RaterPresentation | null> {
    const next = await judgments.nextPresentation(context.app, context.principal!.raterId!, studyId);
    if (!next) return null;
    const view = async (presentation: Omit<judgments.NextPresentation, 'upcoming'>) => {
      const images: Record<string, string | null> = { reference: null, left: null, right: null, comparison: null };
      for (const slot of presentation.slots) images[slot] = await imageUrl(context, 'presentations', `${presentation.id}/${slot}`, { depth: 8 });
      return { ...presentation, images: images as unknown as RaterImages, upcoming: null };
    };
    return { ...(await view(next)), upcoming: next.upcoming && (await view(next.upcoming)) };
  }

  @Allow(Role.RATER)
  @Mutation(() => GraphQLJSONObject, { description: "Records your display check for a study (the reading app's grey-step pattern); returns what was stored." })
  recordDisplayCheck(@Arg('studyId', () => ID) studyId: string, @Arg('check') check: DisplayCheckInput, @Ctx() { app, principal }: RequestContext): Promise<Record<string, number>> {
    return recordDisplayCheck(app, principal!.raterId!, studyId, check);
  }

  @Allow(Role.RATER)
  @SelfRecorded() // the judgment row is the record (rater, answer, receive time); one commit per answer
  @Mutation(() => JudgmentReceipt, { description: 'Your answer to a presentation; a retry with the same clientKey returns the stored judgment.' })
  submitJudgment(@Arg('input') input: SubmitJudgmentInput, @Ctx() { app, principal }: RequestContext): Promise<JudgmentReceipt> {
    return judgments.submitJudgment(app, principal!.raterId!, input);
  }
}
