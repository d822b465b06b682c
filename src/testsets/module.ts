/** Test sets: built from a definition and seed (or imported from a BAPPS-layout folder), browsed, cloned, locked. */
import { registerTestSetCommands } from '../cli/testsets';
import { TestSet, TestSetItem } from '../entities/TestSet';
import { TestSets1764500000000 } from '../entities/migrations/1764500000000-TestSets';
import type { DomainModule } from '../platform/module';
import { TestSetFieldsResolver, TestSetItemResolver, TestSetResolver } from '../resolvers/TestSetResolver';
import { READERS } from '../schema/guards';
import { imageRoute } from '../server/image-route';
import { importBappsJob } from './bapps-import';
import { buildTestSetJob } from './build';
import { itemPicture, type ItemSlot } from './service';

const SLOTS: ItemSlot[] = ['ref', 'p0', 'p1'];

export const testSetsModule: DomainModule = {
  name: 'testsets',
  entities: [TestSet, TestSetItem],
  migrations: [TestSets1764500000000],
  resolvers: [TestSetResolver, TestSetFieldsResolver, TestSetItemResolver],
  jobs: [buildTestSetJob, importBappsJob],
  cli: registerTestSetCommands,
  routes: SLOTS.map((slot) => ({
    method: 'get' as const,
    path: `/test-set-items/:id/${slot}.png`,
    access: { roles: READERS },
    signedUrls: true,
    handle: imageRoute((app, id) => itemPicture(app, id, slot)),
  })),
};
