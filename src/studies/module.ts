/** Studies and judgments: panels, assignments, presentations, the rater API, rater quality and aggregates. */
import { registerSimulatePanelCommand } from '../cli/simulate-panel';
import { registerStudyCommands } from '../cli/studies';
import { Study } from '../entities/Study';
import { Studies1764500000001 } from '../entities/migrations/1764500000001-Studies';
import { Role } from '../platform/context';
import type { DomainModule } from '../platform/module';
import { RaterResolver, StudyFieldsResolver, StudyResolver } from '../resolvers/StudyResolver';
import { displayCheckRoute, presentationImageRoute } from '../server/presentation-route';
import { exportDownload } from '../server/export-route';
import { webAppRoutes } from '../server/web-route';
import { READERS } from '../schema/guards';
import { exportStudyJob } from './export';

export const studiesModule: DomainModule = {
  name: 'studies',
  entities: [Study],
  migrations: [Studies1764500000001],
  resolvers: [StudyResolver, StudyFieldsResolver, RaterResolver],
  jobs: [exportStudyJob],
  routes: [
    ...(['reference', 'left', 'right', 'comparison'] as const).map((slot) => ({
      method: 'get' as const,
      path: `/presentations/:id/${slot}.png`,
      access: { roles: [Role.RATER] },
      signedUrls: true,
      handle: presentationImageRoute(slot),
    })),
    { method: 'get', path: '/display-checks/:id.png', access: { roles: [Role.RATER] }, signedUrls: true, handle: displayCheckRoute },
    { method: 'get', path: '/exports/:id.zip', access: { roles: READERS }, handle: exportDownload },
    // The study page (web/study) asks for an ADMIN or ANALYST token itself; the page holds no data.
    ...webAppRoutes('study', '/studies/:id', '/studies/assets'),
  ],
  cli(program) {
    registerStudyCommands(program);
    registerSimulatePanelCommand(program);
  },
};
