/**
 * The study page (/studies/<id>) for admins and analysts: the panel's progress, each rater's quality and
 * last activity, item coverage, and (for admins) fresh invitation links to copy. Server data only, through
 * GraphQL with the user's own token, kept for this browser tab (sessionStorage) and never in the URL.
 */
import { askForToken as askForTokenOn, element, TOKEN_KEY } from '../../shared/staff-page';

const root = document.getElementById('app')!;

interface Rater {
  raterId: string;
  pseudonym: string;
  simulated: boolean;
  withdrawn: boolean;
  judgments: number;
  sentinelPassRate: number | null;
  medianResponseMs: number | null;
  lastActivity: string | null;
  excluded: boolean;
  reasons: string[];
}

interface StudyView {
  id: string;
  name: string;
  state: string;
  createdAt: string;
  progress: { raters: number; activeRaters: number; presentations: number; answered: number; items: number; itemsShort: number; itemsComplete: number };
  raterQuality: Rater[];
}

class ApiError extends Error {
  constructor(message: string, readonly code: string | null) {
    super(message);
  }
}

async function gql<T>(query: string, variables: Record<string, unknown>, token: string): Promise<T> {
  const response = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> };
  if (body.errors?.length) throw new ApiError(body.errors[0].message, body.errors[0].extensions?.code ?? null);
  return body.data as T;
}

function studyId(): string | null {
  const match = /^\/studies\/([0-9a-fA-F-]{36})\/?$/.exec(location.pathname);
  return match ? match[1] : null;
}

function askForToken(message: string | null): void {
  askForTokenOn(root, { title: 'Study', roles: 'ADMIN or ANALYST', button: 'Show the study' }, message, () => void show());
}

const STUDY = `query ($id: ID!) { me { role } study(id: $id) {
  id name state createdAt
  progress { raters activeRaters presentations answered items itemsShort itemsComplete }
  raterQuality(includeSimulated: true) { raterId pseudonym simulated withdrawn judgments sentinelPassRate medianResponseMs lastActivity excluded reasons } } }`;

const INVITE = `mutation ($rater: ID!) { inviteRater(raterId: $rater) { url expiresAt } }`;

function figure(label: string, value: string): HTMLLIElement {
  const item = element('li');
  item.append(element('strong', value), element('span', label, { class: 'muted' }));
  return item;
}

const percent = (value: number | null) => (value === null ? '–' : `${Math.round(value * 100)}%`);
const when = (value: string | null) => (value ? new Date(value).toLocaleString() : '–');

function render(study: StudyView, role: string, token: string): void {
  const p = study.progress;
  root.replaceChildren();
  root.append(element('h1', study.name), element('p', `${study.state === 'OPEN' ? 'Open' : 'Closed'} · started ${when(study.createdAt)}`, { class: 'muted' }));
  const figures = element('ul', undefined, { class: 'figures' });
  figures.append(
    figure('presentations answered', `${p.answered} / ${p.presentations}`),
    figure('items with all their judgments', `${p.itemsComplete} / ${p.items}`),
    figure('items short of raters', String(p.itemsShort)),
    figure('raters active', `${p.activeRaters} / ${p.raters}`),
  );
  root.append(figures, element('h2', 'Raters'));
  const table = element('table');
  const head = element('tr');
  for (const title of ['Rater', 'Judgments', 'Sentinels passed', 'Median response', 'Last activity', 'Included', 'Invitation']) head.append(element('th', title, { scope: 'col' }));
  table.append(element('thead'), element('tbody'));
  table.tHead!.append(head);
  for (const rater of study.raterQuality) {
    const row = element('tr', undefined, rater.excluded ? { class: 'excluded' } : {});
    const name = `${rater.pseudonym}${rater.simulated ? ' (simulated)' : ''}${rater.withdrawn ? ' (withdrawn)' : ''}`;
    row.append(
      element('th', name, { scope: 'row' }),
      element('td', String(rater.judgments)),
      element('td', percent(rater.sentinelPassRate)),
      element('td', rater.medianResponseMs === null ? '–' : `${Math.round(rater.medianResponseMs)} ms`),
      element('td', when(rater.lastActivity)),
      element('td', rater.excluded ? `no: ${rater.reasons.join('; ')}` : 'yes'),
    );
    const invitation = element('td');
    if (role === 'ADMIN' && !rater.simulated) {
      const button = element('button', 'New link', { type: 'button', 'aria-label': `New link for ${rater.pseudonym} (invitation)` });
      const output = element('output');
      button.addEventListener('click', async () => {
        button.disabled = true;
        try {
          const { inviteRater } = await gql<{ inviteRater: { url: string; expiresAt: string } }>(INVITE, { rater: rater.raterId }, token);
          output.textContent = `${inviteRater.url} (until ${when(inviteRater.expiresAt)}; earlier links stop working)`;
          await navigator.clipboard?.writeText(inviteRater.url).catch(() => undefined);
        } catch (error) {
          output.textContent = (error as Error).message;
        } finally {
          button.disabled = false;
        }
      });
      invitation.append(button, output);
    } else {
      invitation.textContent = rater.simulated ? 'simulated' : 'admins only';
    }
    row.append(invitation);
    table.tBodies[0].append(row);
  }
  root.append(table);
}

async function show(): Promise<void> {
  const id = studyId();
  if (!id) {
    root.replaceChildren(element('p', 'No such study page: open /studies/<study id>.', { class: 'error' }));
    return;
  }
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return askForToken(null);
  try {
    const { me, study } = await gql<{ me: { role: string }; study: StudyView }>(STUDY, { id }, token);
    document.title = `${study.name} · medpsim`;
    render(study, me.role, token);
  } catch (error) {
    const code = (error as ApiError).code;
    if (code === 'UNAUTHENTICATED' || code === 'FORBIDDEN') {
      sessionStorage.removeItem(TOKEN_KEY);
      return askForToken(code === 'FORBIDDEN' ? 'This token may not see studies (ADMIN or ANALYST only).' : 'This token is not valid.');
    }
    root.replaceChildren(element('p', (error as Error).message, { class: 'error', role: 'alert' }));
  }
}

void show();
