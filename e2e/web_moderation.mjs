// The creator moderates from the studio: a deleted message disappears from a
// viewer's page, and a muted viewer is told so.
//
//   node e2e/web_moderation.mjs <baseURL> <artifactDir> <gigID> <manageToken>
//
// Prints {"ok":true,"studio_saw","removed","mute_notice","slow_mode"}.
import { args, run, waitFor } from './web_lib.mjs';

const { base, artifacts, rest } = args('e2e/web_moderation.mjs <baseURL> <artifactDir> <gigID> <manageToken>', 4);
const [gigId, token] = rest;
const tag = Date.now().toString(36);
const bad = `buy cheap followers ${tag}`;
const good = `great show ${tag}`;

await run(artifacts, async ({ context, newPage, shot }) => {
  await context.addInitScript(
    ([id, t]) => {
      localStorage.removeItem('bmg.chat.name');
      const k = `bmg.gig.${id}`;
      const s = JSON.parse(localStorage.getItem(k) || '{}');
      localStorage.setItem(k, JSON.stringify({ ...s, manage_token: t }));
    },
    [gigId, token],
  );
  const studio = await newPage();
  await studio.goto(`${base}/studio/${encodeURIComponent(gigId)}`);
  await studio.waitForSelector('.chat-mod .chat-compose:not([hidden])', { timeout: 15000 });

  // The viewer page must not moderate: it is the audience page.
  const viewer = await newPage();
  await viewer.goto(`${base}/gig/${encodeURIComponent(gigId)}`);
  await viewer.fill('.chat-join input', 'Spammer');
  await viewer.click('.chat-join button[type=submit]');
  await viewer.waitForSelector('.chat-compose:not([hidden]) textarea');
  if (await viewer.$('.chat-actions')) throw new Error('the audience page shows moderation controls');
  for (const t of [bad, good]) {
    await viewer.fill('.chat-compose textarea', t);
    await viewer.keyboard.press('Enter');
    await viewer.waitForTimeout(150);
  }
  const msgSel = (t) => `.chat-msg:has(.chat-text:text-is(${JSON.stringify(t)}))`;
  await viewer.waitForSelector(msgSel(bad));
  await studio.waitForSelector(msgSel(bad), { timeout: 10000 });
  await shot(studio, 'studio-before-delete');

  await studio.hover(msgSel(bad)); // the controls show on hover or focus
  await studio.click(`${msgSel(bad)} [data-action=delete]`);
  const removed = await waitFor('the deleted message gone from the viewer page', async () => !(await viewer.$(msgSel(bad))));
  const goodKept = !!(await viewer.$(msgSel(good)));
  if (!goodKept) throw new Error('deleting one message removed another');
  await waitFor('the deleted message gone from the studio', async () => !(await studio.$(msgSel(bad))));
  await shot(viewer, 'viewer-after-delete');

  await studio.hover(msgSel(good));
  await studio.click(`${msgSel(good)} [data-action=mute]`);
  const muteNotice = await waitFor('a mute notice on the viewer page', () =>
    viewer.evaluate(() => {
      const n = document.querySelector('.chat-notice:not([hidden])');
      return n && /mute/i.test(n.textContent) ? n.textContent : '';
    }),
  );
  await shot(viewer, 'viewer-muted');

  await studio.selectOption('[data-testid=slow-mode]', '10');
  const slow = await waitFor('slow mode announced to the viewer', () =>
    viewer.evaluate(() => [...document.querySelectorAll('.chat-system')].some((e) => /slow mode/i.test(e.textContent) && /10/.test(e.textContent))),
  );
  await studio.selectOption('[data-testid=slow-mode]', '0');
  await shot(studio, 'studio-moderation');

  return { studio_saw: true, removed, mute_notice: muteNotice, slow_mode: slow };
});
