// The studio manages a gig: a browser without the token is asked for it,
// the gig is edited through the form (validation beside the field), the
// stream key is rotated, and (optionally) the gig is deleted.
//
//   node e2e/web_studio_manage.mjs <baseURL> <artifactDir> <gigID> <manageToken> [delete]
//
// Prints {"ok":true,"token_prompt","edited_title","edit_validation",
// "new_stream_key","deleted"}. new_stream_key is the rotated key the page
// stored (the old one no longer works).
import { args, run, waitFor } from './web_lib.mjs';

const { base, artifacts, rest } = args('e2e/web_studio_manage.mjs <baseURL> <artifactDir> <gigID> <manageToken> [delete]', 4);
const [gigId, token, del] = rest;
const studioURL = `${base}/studio/${encodeURIComponent(gigId)}`;

await run(artifacts, async ({ newPage, shot }) => {
  const page = await newPage();
  page.on('dialog', (d) => d.accept()); // confirm() for rotate and delete

  // A browser without the secrets is asked for the manage token.
  await page.goto(studioURL);
  await page.evaluate((id) => localStorage.removeItem(`bmg.gig.${id}`), gigId);
  await page.reload();
  await page.waitForSelector('input[aria-label="Manage token"]');
  await page.fill('input[aria-label="Manage token"]', 'mt_wrong');
  await page.click('form.panel button[type=submit]');
  await waitFor('a refusal of the wrong token', () => page.evaluate(() => document.querySelector('.field-error')?.textContent || ''));
  await shot(page, 'studio-token-prompt');
  await page.fill('input[aria-label="Manage token"]', token);
  await page.click('form.panel button[type=submit]');
  await page.waitForSelector('.studio-head h1');

  // Edit: a bad value is refused beside its field, a good one is saved.
  await page.click('details.fold summary:has-text("Edit gig")');
  await page.fill('#f-title', '');
  await page.click('form.gig-form button[type=submit]');
  const editValidation = await waitFor('edit validation', () => page.evaluate(() => document.querySelector('#f-title-err')?.textContent || ''));
  const newTitle = `Edited ${Date.now().toString(36)}`;
  await page.fill('#f-title', newTitle);
  await page.click('form.gig-form button[type=submit]');
  await waitFor('the new title in the studio header', () => page.evaluate((t) => document.querySelector('.studio-head h1')?.textContent === t, newTitle));
  await shot(page, 'studio-edited');

  // Rotate the stream key.
  const before = await page.evaluate((id) => JSON.parse(localStorage.getItem(`bmg.gig.${id}`) || '{}').stream_key || '', gigId);
  await page.click('[data-testid=rotate-key]');
  const after = await waitFor('a new stream key', () =>
    page.evaluate((id) => JSON.parse(localStorage.getItem(`bmg.gig.${id}`) || '{}').stream_key || '', gigId).then((k) => (k && k !== before ? k : '')),
  );
  await page.click('details.fold summary:has-text("Stream settings")');
  const shown = await page.evaluate(() => document.querySelector('[data-cred="stream_key"]')?.value || '');
  if (shown !== after) throw new Error('the stream settings do not show the rotated key');
  await shot(page, 'studio-rotated');

  let deleted = false;
  if (del === 'delete') {
    await page.click('.danger button:has-text("Delete gig")');
    await page.waitForURL(`${base}/`, { timeout: 10000 });
    const res = await page.evaluate((id) => fetch(`/api/gigs/${encodeURIComponent(id)}`).then((r) => r.status), gigId);
    deleted = res === 404;
    if (!deleted) throw new Error(`deleted gig answers ${res}`);
  }
  return { token_prompt: true, edited_title: newTitle, edit_validation: editValidation, new_stream_key: after, deleted };
});
