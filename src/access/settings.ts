/** The access module's settings. */
import { choiceFromEnv, defineSettings, intFromEnv } from '../platform/config';

export const ACCESS_SETTINGS = defineSettings('access', (env) => ({
  /** How long links to images stay valid (signed URLs). */
  signedUrlSeconds: intFromEnv(env, 'MEDPSIM_SIGNED_URL_SECONDS', 3600, 60, 7 * 86_400),
  /** Failed authentications one client address may make per minute before it is refused for a minute. */
  authFailuresPerMinute: intFromEnv(env, 'MEDPSIM_AUTH_FAILURES_PER_MINUTE', 30, 1, 1_000_000),
  /** loopback: Apollo Sandbox opened in a browser on the server machine gets a token; off: never. */
  sandboxToken: choiceFromEnv(env, 'MEDPSIM_SANDBOX_TOKEN', ['loopback', 'off'] as const, 'loopback'),
  /** An invitation code is valid this long by default. */
  invitationHours: intFromEnv(env, 'MEDPSIM_INVITATION_HOURS', 72, 1, 30 * 24),
}));
