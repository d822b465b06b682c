/** The reading app (web/read): physicians judge 2AFC and JND presentations in the browser, at /read. */
import type { DomainModule } from '../platform/module';
import { webAppRoutes } from '../server/web-route';

export const readingModule: DomainModule = {
  name: 'reading',
  routes: webAppRoutes('read', '/read'),
};
