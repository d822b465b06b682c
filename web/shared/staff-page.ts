/**
 * What the staff pages (web/study, web/analysis) share: the DOM helper and the token prompt. The token is
 * kept for this browser tab (sessionStorage, one key for both pages) and never put in the URL.
 */
export const TOKEN_KEY = 'medpsim.token';

export function element<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, attributes: Record<string, string> = {}): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

/** Replaces the page with a token form; `then` runs once a token is stored. */
export function askForToken(root: HTMLElement, page: { title: string; roles: string; button: string }, message: string | null, then: () => void): void {
  root.replaceChildren();
  root.append(element('h1', page.title));
  if (message) root.append(element('p', message, { class: 'error', role: 'alert' }));
  const form = element('form');
  const label = element('label', `Your API token (${page.roles}): `, { for: 'token' });
  const input = element('input', undefined, { id: 'token', type: 'password', autocomplete: 'off', required: '' });
  const submit = element('button', page.button, { type: 'submit' });
  form.append(label, input, ' ', submit);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, input.value.trim());
    then();
  });
  root.append(form, element('p', 'The token stays in this browser tab only.', { class: 'muted' }));
  input.focus();
}
