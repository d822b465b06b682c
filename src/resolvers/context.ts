import type { App } from '../app';

export interface Context {
  app: App;
  /** Origin clients reach this server at (from the request), for absolute image URLs. */
  baseUrl: string;
}
