/** GraphQL over fetch (POST /graphql with the rater's token); errors typed by extensions.code. */

/** The server answered with a GraphQL error (extensions.code: ALREADY_ANSWERED, FORBIDDEN, ...). */
export class ApiError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
  }
}

/** The server could not be reached (or failed): worth retrying. */
export class NetworkError extends Error {}

const TOKEN_KEY = 'medpsim.read.token';
const RATER_KEY = 'medpsim.read.rater';

function stored(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

export const storedToken = () => stored(TOKEN_KEY);
/** The rater this browser is signed in as (null: unknown, or signed out). */
export const storedRater = () => stored(RATER_KEY);

export function storeSignIn(signIn: SignIn | null): void {
  for (const [key, value] of [[TOKEN_KEY, signIn?.token], [RATER_KEY, signIn?.raterId]] as const) {
    if (value) localStorage.setItem(key, value);
    else localStorage.removeItem(key);
  }
}

export async function gql<T>(query: string, variables: Record<string, unknown> = {}, token: string | null = storedToken()): Promise<T> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify({ query, variables }), cache: 'no-store' });
  } catch (error) {
    throw new NetworkError(error instanceof Error ? error.message : String(error));
  }
  let body: { data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> };
  try {
    body = await response.json();
  } catch {
    throw new NetworkError(`the server answered ${response.status} without GraphQL`);
  }
  const error = body.errors?.[0];
  if (error) {
    const code = error.extensions?.code ?? 'ERROR';
    if (code === 'INTERNAL_SERVER_ERROR' || code === 'RATE_LIMITED' || response.status >= 500) throw new NetworkError(error.message);
    throw new ApiError(error.message, code);
  }
  if (!body.data) throw new NetworkError(`the server answered ${response.status} without data`);
  return body.data;
}

export interface SignIn {
  token: string;
  raterId: string;
}

export interface Study {
  id: string;
  name: string;
  open: boolean;
  answered: number;
  total: number;
  displayChecked: boolean;
  /** The grey steps, drawn by the server in the study's window (a signed link). */
  displayCheckImage: string;
  displayCheckSteps: number;
}

export interface Images {
  reference: string;
  left: string | null;
  right: string | null;
  comparison: string | null;
}

export interface Presentation {
  id: string;
  kind: 'TWO_AFC' | 'JND';
  practice: boolean;
  number: number;
  total: number;
  breakBefore: boolean;
  images: Images;
  jnd: { referenceMs: number; blankMs: number; distortedMs: number } | null;
  /** Device pixels per image pixel (1: native pixels). */
  zoom: number;
  upcoming: Presentation | null;
}

export type Answer = 'LEFT' | 'RIGHT' | 'SAME' | 'DIFFERENT';

export interface Display {
  viewportWidth: number;
  viewportHeight: number;
  imageWidth: number;
  imageHeight: number;
  devicePixelRatio: number;
  shownReferenceMs?: number;
  shownBlankMs?: number;
  shownComparisonMs?: number;
}

export interface JudgmentInput {
  presentationId: string;
  answer: Answer;
  responseMs: number;
  clientKey: string;
  display: Display;
}

export interface Receipt {
  id: string;
  repeated: boolean;
  correct: boolean | null;
}

const FIELDS = `id kind practice number total breakBefore images { reference left right comparison } jnd { referenceMs blankMs distortedMs } zoom`;

export async function acceptInvitation(code: string): Promise<SignIn> {
  const data = await gql<{ acceptInvitation: { secret: string; token: { raterId: string } } }>(`mutation ($code: String!) { acceptInvitation(code: $code) { secret token { raterId } } }`, { code }, null);
  return { token: data.acceptInvitation.secret, raterId: data.acceptInvitation.token.raterId };
}

export async function myStudies(): Promise<Study[]> {
  return (await gql<{ myStudies: Study[] }>(`{ myStudies { id name open answered total displayChecked displayCheckImage displayCheckSteps } }`)).myStudies;
}

export async function nextPresentation(studyId: string): Promise<Presentation | null> {
  const data = await gql<{ nextPresentation: Presentation | null }>(`query ($study: ID!) { nextPresentation(studyId: $study) { ${FIELDS} upcoming { ${FIELDS} } } }`, { study: studyId });
  return data.nextPresentation;
}

/** Sent with the token of the rater who answered (an outbox may outlive a sign-in on a shared browser). */
export async function submitJudgment(input: JudgmentInput, token: string | null = storedToken()): Promise<Receipt> {
  const data = await gql<{ submitJudgment: Receipt }>(`mutation ($input: SubmitJudgmentInput!) { submitJudgment(input: $input) { id repeated correct } }`, { input }, token);
  return data.submitJudgment;
}

export interface DisplayCheck {
  stepsShown: number;
  stepsDistinguished: number;
  screenWidth: number;
  screenHeight: number;
  devicePixelRatio: number;
  zoom: number;
  colorDepth: number;
  viewportWidth: number;
  viewportHeight: number;
}

export async function recordDisplayCheck(studyId: string, check: DisplayCheck): Promise<void> {
  await gql(`mutation ($study: ID!, $check: DisplayCheckInput!) { recordDisplayCheck(studyId: $study, check: $check) }`, { study: studyId, check });
}
