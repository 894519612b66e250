// One ticket, one screen: two pages of one browser play a ticketed gig
// with the same ticket; when the second starts, the first says "This ticket
// is now watching elsewhere" and stops; its chat keeps working; "Watch here"
// takes the ticket back (and the second page says so in turn).
//
//   node e2e/web_one_screen.mjs <baseURL> <artifactDir> <gigID> [ticketToken] [timeoutSec]
//
// Without ticketToken the first page books a free ticket through the form
// (the gig must then be free and ticketed); with it, the pages get it from
// a ticket link (/gig/{id}?ticket=...), as a comp ticket's guest would.
// The gig must be live. Prints {"ok":true,"framesA","framesB",
// "elsewhereAfterMs","chatOnA","watchHere","bElsewhere","screenshot"}:
// elsewhereAfterMs is from the second page's first decoded frame to the
// first page showing "watching elsewhere".
import { join } from 'node:path';
import { args, playerMetrics, run, waitFor } from './web_lib.mjs';

const { base, artifacts, rest } = args('e2e/web_one_screen.mjs <baseURL> <artifactDir> <gigID> [ticketToken] [timeoutSec]', 3);
const [gigId, ticketToken = '', timeoutSec = '40'] = rest;
const timeoutMs = Number(timeoutSec) * 1000;
const watchURL = `${base}/gig/${encodeURIComponent(gigId)}`;
const tag = Date.now().toString(36);

const playing = (page, what, after = 0) =>
  waitFor(what, async () => {
    const m = await playerMetrics(page);
    return m && m.transport && m.framesDecoded > after ? m : null;
  }, timeoutMs);

const elsewhereShown = (page) =>
  page.evaluate(() => {
    const el = document.querySelector('[data-testid=elsewhere]');
    return !!el && !el.closest('[hidden]') && /watching elsewhere/i.test(el.textContent || '');
  });

await run(artifacts, async ({ newPage, shot }) => {
  const a = await newPage();
  if (ticketToken) {
    await a.goto(`${watchURL}?ticket=${encodeURIComponent(ticketToken)}`);
  } else {
    await a.goto(watchURL);
    await a.waitForSelector('[data-testid=gate][data-view=book]', { timeout: timeoutMs });
    await a.fill('#book-name', `Screen ${tag}`);
    await a.fill('#book-email', `screen-${tag}@example.com`);
    await a.click('[data-testid=book]');
  }
  const ma = await playing(a, 'page A to play');
  if (ticketToken && (await a.evaluate(() => location.search.includes('ticket=')))) throw new Error('?ticket= left in the address bar');

  // The same ticket starts on a second screen.
  const b = await newPage();
  await b.goto(watchURL);
  const mb = await playing(b, 'page B to play');
  const t0 = Date.now();
  await waitFor('page A to say "watching elsewhere"', () => elsewhereShown(a), 15000, 100);
  const elsewhereAfterMs = Date.now() - t0;
  await shot(a, 'one-screen-a-elsewhere');

  // A stays stopped (no retry steals the ticket back) while B plays on.
  await a.waitForTimeout(4000);
  if (!(await elsewhereShown(a))) throw new Error('page A left the "watching elsewhere" state by itself');
  const bNow = await playing(b, 'page B to keep playing', mb.framesDecoded);

  // A's chat still works.
  await a.waitForSelector('.chat-compose:not([hidden]) textarea', { timeout: 15000 });
  const text = `still chatting ${tag}`;
  await a.fill('.chat-compose textarea', text);
  await a.keyboard.press('Enter');
  await waitFor("A's message on B", () => b.evaluate((t) => [...document.querySelectorAll('.chat-msg .chat-text')].some((e) => e.textContent === t), text));

  // "Watch here" takes the ticket back to A.
  await a.click('[data-testid=watch-here]');
  await waitFor('page A to play again', async () => {
    const m = await playerMetrics(a);
    return m && m.state === 'playing' && m.framesDecoded > 0;
  }, timeoutMs);
  await waitFor('page B to say "watching elsewhere"', () => elsewhereShown(b), 15000, 100);
  await shot(b, 'one-screen-b-elsewhere');
  await shot(a, 'one-screen-a-back');

  return {
    framesA: ma.framesDecoded,
    framesB: bNow.framesDecoded,
    elsewhereAfterMs,
    chatOnA: true,
    watchHere: true,
    bElsewhere: true,
    screenshot: join(artifacts, 'one-screen-a-elsewhere.png'),
  };
}, { timeoutMs: timeoutMs * 4 + 60000 });
