// The studio's Tickets panel: seats sold and revenue, a comp ticket whose
// token and watch link are shown once, the guest watching through that link
// (in another browser), and Revoke stopping the guest with "Your ticket was
// revoked" and the booking form.
//
//   node e2e/web_studio_tickets.mjs <baseURL> <artifactDir> <gigID> <manageToken> [timeoutSec]
//
// The gig must be ticketed and live. Prints {"ok":true,"summary",
// "paymentsOff","compToken","guestFrames","revoked","revokedAfterMs",
// "listed","screenshot"}: paymentsOff is the panel's "Paid booking is off"
// text ('' when payments are on or the gig is free).
import { join } from 'node:path';
import { launch } from './browser.mjs';
import { args, playerMetrics, run, waitFor } from './web_lib.mjs';

const { base, artifacts, rest } = args('e2e/web_studio_tickets.mjs <baseURL> <artifactDir> <gigID> <manageToken> [timeoutSec]', 4);
const [gigId, token, timeoutSec = '40'] = rest;
const timeoutMs = Number(timeoutSec) * 1000;
const tag = Date.now().toString(36);
const guest = `Guest ${tag}`;

await run(artifacts, async (ctx) => {
  let guestBrowser = null;
  try {
    return await steps(ctx, async () => (guestBrowser = await launch()));
  } finally {
    await guestBrowser?.close();
  }
}, { timeoutMs: timeoutMs * 2 + 60000 });

async function steps({ newPage, shot, pageErrors }, otherBrowser) {
  const studio = await newPage();
  studio.on('dialog', (d) => d.accept()); // confirm() for revoke
  await studio.goto(`${base}/`);
  await studio.evaluate(([id, t]) => localStorage.setItem(`bmg.gig.${id}`, JSON.stringify({ manage_token: t })), [gigId, token]);
  await studio.goto(`${base}/studio/${encodeURIComponent(gigId)}`);
  await studio.waitForSelector('[data-testid=tickets-panel]:not([hidden]) [data-testid=tickets-summary]:not(:empty)', { timeout: 20000 });
  const paymentsOff = await studio.evaluate(() => {
    const n = document.querySelector('[data-testid=payments-off]');
    return n && !n.hidden ? n.textContent : '';
  });

  // A comp ticket at a price: its token is shown once, with a watch link.
  await studio.fill('#comp-name', guest);
  await studio.fill('#comp-email', `guest-${tag}@example.com`);
  await studio.fill('#comp-price', '2.50');
  await studio.click('[data-testid=comp-issue]');
  await studio.waitForSelector('[data-testid=comp-out] [data-cred=comp_token]', { timeout: 15000 });
  const compToken = await studio.$eval('[data-cred=comp_token]', (e) => e.value);
  const link = await studio.$eval('[data-cred=comp_link]', (e) => e.value);
  if (!compToken.startsWith('tk_') || !link.endsWith(`?ticket=${encodeURIComponent(compToken)}`)) throw new Error(`comp token/link: ${compToken.slice(0, 3)}… ${link.replace(compToken, 'TOKEN')}`);
  const listed = await waitFor('the comp ticket in the list', () =>
    studio.evaluate((name) => [...document.querySelectorAll('[data-testid=tickets] tbody tr')].some((tr) => tr.textContent.includes(name) && tr.dataset.status === 'valid'), guest),
  );
  const summary = await studio.textContent('[data-testid=tickets-summary]');
  await shot(studio, 'studio-tickets');

  // The guest opens the link in their own browser (no manage token there).
  const g = await (await otherBrowser()).context.newPage();
  await g.setViewportSize({ width: 390, height: 844 });
  g.on('pageerror', (e) => pageErrors.push(e.message));
  await g.goto(link);
  const m = await waitFor('the guest to play', async () => {
    const x = await playerMetrics(g);
    return x && x.framesDecoded > 0 ? x : null;
  }, timeoutMs);
  if (await g.evaluate(() => location.search.includes('ticket='))) throw new Error('?ticket= left in the address bar');
  await shot(g, 'guest-watching-phone');

  // Revoke: the guest's playback stops and the page says so.
  const t0 = Date.now();
  await studio.click(`[data-testid=tickets] tbody tr:has-text("${guest}") [data-action=revoke]`);
  await g.waitForSelector('[data-testid=revoked]', { timeout: 15000 });
  const revokedAfterMs = Date.now() - t0;
  const revoked = await g.textContent('[data-testid=revoked]');
  const stillStored = await g.evaluate((id) => localStorage.getItem(`bmg.ticket.${id}`), gigId);
  if (stillStored) throw new Error('the revoked ticket is still stored');
  if (!(await g.$('[data-testid=gate][data-view=book], [data-testid=gate][data-view=soldout]'))) throw new Error('no booking form after the revoke');
  await shot(g, 'guest-revoked-phone');
  await waitFor('the revoked status in the studio', () =>
    studio.evaluate((name) => [...document.querySelectorAll('[data-testid=tickets] tbody tr')].some((tr) => tr.textContent.includes(name) && tr.dataset.status === 'revoked'), guest),
  );
  await shot(studio, 'studio-tickets-revoked');
  return {
    summary,
    paymentsOff,
    compToken,
    guestFrames: m.framesDecoded,
    revoked,
    revokedAfterMs,
    listed,
    screenshot: join(artifacts, 'studio-tickets.png'),
  };
}
