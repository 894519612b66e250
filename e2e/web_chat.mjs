// Two watch pages of one gig chat with each other; text stays text.
//
//   node e2e/web_chat.mjs <baseURL> <artifactDir> <gigID>
//
// Prints {"ok":true,"ann_saw","ben_saw","escaped","history","viewers",
// "rate_notice"}: each page saw the other's message, markup in a message was
// shown as text, a third page that joined later got both messages as
// history, and flooding got a rate-limit notice.
import { args, run, waitFor } from './web_lib.mjs';

const { base, artifacts, rest } = args('e2e/web_chat.mjs <baseURL> <artifactDir> <gigID>', 3);
const [gigId] = rest;
const tag = Date.now().toString(36);
const annText = `hello from Ann ${tag} <img src=x onerror="window.__pwned=1"><b>bold</b>`;
const benText = `hi Ann, Ben here ${tag}`;

await run(artifacts, async ({ context, newPage, shot }) => {
  // Pages of one browser share localStorage: forget the remembered name.
  await context.addInitScript(() => localStorage.removeItem('bmg.chat.name'));
  const url = `${base}/gig/${encodeURIComponent(gigId)}`;

  const join = async (name) => {
    const p = await newPage();
    await p.goto(url);
    await p.waitForSelector('.chat-join input');
    await p.fill('.chat-join input', name);
    await p.click('.chat-join button[type=submit]');
    await p.waitForSelector('.chat-compose:not([hidden]) textarea');
    return p;
  };
  const say = async (p, text) => {
    await p.fill('.chat-compose textarea', text);
    await p.keyboard.press('Enter');
  };
  const texts = (p) => p.$$eval('.chat-msg .chat-text', (els) => els.map((e) => e.textContent));

  const ann = await join('Ann');
  const ben = await join('Ben');
  await say(ann, annText);
  const benSaw = await waitFor("Ann's message on Ben's page", async () => (await texts(ben)).includes(annText));
  await say(ben, benText);
  const annSaw = await waitFor("Ben's message on Ann's page", async () => (await texts(ann)).includes(benText));

  const escaped = await ben.evaluate(() => !document.querySelector('.chat-text img, .chat-text b') && !window.__pwned);
  if (!escaped) throw new Error('chat rendered markup from a message');

  const viewers = await waitFor('a viewer count', () =>
    ann.evaluate(() => Number((document.querySelector('[data-testid=chat-viewers]')?.textContent || '').trim()) || 0),
  );
  await shot(ann, 'chat-ann');
  await shot(ben, 'chat-ben');

  const cara = await join('Cara');
  const history = await waitFor('history on a late joiner', async () => {
    const t = await texts(cara);
    return t.includes(annText) && t.includes(benText);
  });
  await shot(cara, 'chat-history');

  // Flooding is refused with a notice that says when to try again.
  // Typed in one go inside the page, so a slow machine cannot spread the
  // burst over more than the rate window.
  await cara.evaluate((tag) => {
    const ta = document.querySelector('.chat-compose textarea');
    for (let i = 0; i < 8; i++) {
      ta.value = `flood ${i} ${tag}`;
      ta.dispatchEvent(new Event('input', { bubbles: true }));
      ta.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true }));
    }
  }, tag);
  const rateNotice = await waitFor('a rate-limit notice', () =>
    cara.evaluate(() => {
      const n = document.querySelector('.chat-notice:not([hidden])');
      return n && /slow down|wait/i.test(n.textContent) ? n.textContent : '';
    }),
  );
  await shot(cara, 'chat-rate-limited');

  return { ann_saw: annSaw, ben_saw: benSaw, escaped, history, viewers, rate_notice: rateNotice };
});
