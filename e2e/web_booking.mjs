// A viewer books a ticketed gig on its watch page and watches with chat.
//
//   node e2e/web_booking.mjs <baseURL> <artifactDir> <gigID> <free|paid> [confirmURL] [timeoutSec]
//
// free: the page shows "Book to watch"; booking (name, email) plays the show
// at once, without a reload, and a chat message goes out under the ticket's
// name and comes back.
// paid: booking sends the page to the checkout_url (stripe-mock's, on a host
// the browser cannot reach): the script intercepts that navigation, then
// opens the checkout's success URL /gig/{id}?booking={booking_id}, sees
// "Confirming your payment…", and asks the Go test to deliver the signed
// webhook: GET <confirmURL>?booking=<booking_id>&gig=<gigID> (from Node, on
// loopback; any 2xx is success). Then playback and chat as for free.
// The gig must be live (ffmpeg publishing) before the script starts.
//
// Prints {"ok":true,"mode","booked","sawBookToWatch","sawConfirming",
// "checkoutURL","bookingID","ticketStored","noReload","frames","transport",
// "chat","chatName","monetization","screenshot"}: monetization is the
// href of the page's <link rel="monetization"> ('' without one).
import { join } from 'node:path';
import { args, playerMetrics, result, run, waitFor } from './web_lib.mjs';

const { base, artifacts, rest } = args('e2e/web_booking.mjs <baseURL> <artifactDir> <gigID> <free|paid> [confirmURL] [timeoutSec]', 4);
const [gigId, mode, confirmURL = '', timeoutSec = '40'] = rest;
if (!['free', 'paid'].includes(mode)) result({ ok: false, error: `unknown mode ${mode}` }, 2);
if (mode === 'paid' && !/^https?:\/\//.test(confirmURL)) result({ ok: false, error: 'paid mode needs the confirm URL the Go test serves' }, 2);
const timeoutMs = Number(timeoutSec) * 1000;
const watchURL = `${base}/gig/${encodeURIComponent(gigId)}`;
const tag = Date.now().toString(36);
const holder = `Booker ${tag}`;
const email = `booker-${tag}@example.com`;

await run(artifacts, async ({ newPage, shot }) => {
  const page = await newPage();
  const out = { mode, booked: false, sawBookToWatch: false, sawConfirming: false };

  // The checkout page lives on the payment provider's host: never leave
  // the server under test, answer any other host with a stand-in page.
  let checkoutURL = '';
  await page.route((url) => !url.href.startsWith(base), (route) => {
    if (route.request().isNavigationRequest()) checkoutURL = route.request().url();
    return route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>Checkout (test)</title><h1>Checkout</h1>' });
  });

  // The booking's answer, read on its way to the page (a paid booking's
  // page leaves for the checkout before its body could be read later).
  let booking = null;
  await page.route(`${base}/api/gigs/${encodeURIComponent(gigId)}/tickets`, async (route) => {
    if (route.request().method() !== 'POST') return route.continue();
    const r = await route.fetch();
    const text = await r.text();
    booking = { status: r.status(), text };
    return route.fulfill({ response: r, body: text });
  });

  await page.goto(watchURL);
  const gate = await page.waitForSelector('[data-testid=gate][data-view=book]', { timeout: timeoutMs });
  out.sawBookToWatch = /Book to watch/.test((await gate.textContent()) || '');
  if (!out.sawBookToWatch) throw new Error(`the gate does not say "Book to watch": ${await gate.textContent()}`);
  if (await page.$('.stage:not([hidden])')) throw new Error('the player is shown before booking');
  await shot(page, `booking-${mode}-gate`);
  // Web Monetization: the creator's wallet address as a full URL.
  out.monetization = await page.evaluate(() => document.querySelector('link[rel="monetization"]')?.getAttribute('href') || '');

  await page.evaluate(() => (window.__bmgNoReload = true));
  await page.fill('#book-name', holder);
  await page.fill('#book-email', email);
  await page.click('[data-testid=book]');
  await waitFor('the booking answer', () => booking, 15000, 100);
  let body = {};
  try {
    body = JSON.parse(booking.text);
  } catch {
    /* checked below */
  }
  if (booking.status !== 201) throw new Error(`booking answered ${booking.status}: ${booking.text.slice(0, 300)}`);
  out.booked = true;

  if (mode === 'paid') {
    if (!body.checkout_url || !body.booking_id || !body.ticket_token) throw new Error(`paid booking without checkout_url/booking_id/ticket_token: ${JSON.stringify(Object.keys(body))}`);
    out.bookingID = body.booking_id;
    await waitFor('the page to go to the checkout', () => checkoutURL, 15000);
    await page.waitForURL((u) => !u.href.startsWith(base), { timeout: 15000 });
    await shot(page, 'booking-paid-checkout');
    out.checkoutURL = checkoutURL;
    if (checkoutURL !== body.checkout_url) throw new Error(`went to ${checkoutURL}, want ${body.checkout_url}`);

    // Back from the checkout on its success URL, before the webhook came.
    await page.goto(`${watchURL}?booking=${encodeURIComponent(body.booking_id)}`);
    await page.waitForSelector('[data-testid=gate][data-view=confirming]', { timeout: 15000 });
    out.sawConfirming = /Confirming your payment/.test(await page.textContent('[data-testid=gate]'));
    await shot(page, 'booking-paid-confirming');

    const u = new URL(confirmURL);
    u.searchParams.set('booking', body.booking_id);
    u.searchParams.set('gig', gigId);
    const c = await fetch(u);
    if (!c.ok) throw new Error(`the confirm endpoint answered ${c.status}: ${(await c.text()).slice(0, 300)}`);
  } else if (body.checkout_url || !body.ticket_token || !body.ticket) {
    throw new Error(`free booking answered ${JSON.stringify(Object.keys(body))}`);
  }

  // Playback with the ticket, at once.
  const m = await waitFor('decoded video with the ticket', async () => {
    const x = await playerMetrics(page);
    return x && x.transport && x.framesDecoded > 0 ? x : null;
  }, timeoutMs);
  out.frames = m.framesDecoded;
  out.transport = m.transport;
  const state = await page.evaluate((id) => ({
    noReload: window.__bmgNoReload === true,
    stored: (() => {
      try {
        return !!JSON.parse(localStorage.getItem(`bmg.ticket.${id}`) || 'null')?.token;
      } catch {
        return false;
      }
    })(),
    search: location.search,
    gateShown: !!document.querySelector('.gate:not([hidden])'),
  }), gigId);
  out.ticketStored = state.stored;
  // The paid flow reloads once by design (back from the checkout).
  out.noReload = mode === 'paid' ? true : state.noReload;
  if (!state.stored) throw new Error('the ticket token is not kept in localStorage');
  if (mode === 'free' && !state.noReload) throw new Error('the page reloaded after booking');
  if (state.gateShown) throw new Error('the gate is still shown while playing');
  if (state.search.includes('booking=')) throw new Error(`?booking= left in the address bar: ${state.search}`);

  // Chat under the ticket's name.
  await page.waitForSelector('.chat-compose:not([hidden]) textarea', { timeout: 15000 });
  const text = `booked and watching ${tag}`;
  await page.fill('.chat-compose textarea', text);
  await page.keyboard.press('Enter');
  const got = await waitFor('my chat message back', () =>
    page.evaluate((t) => {
      for (const li of document.querySelectorAll('.chat-msg')) {
        if (li.querySelector('.chat-text')?.textContent === t) return li.querySelector('.chat-name')?.textContent || '?';
      }
      return '';
    }, text),
  );
  out.chat = true;
  out.chatName = got;
  if (got !== holder) throw new Error(`chat name ${JSON.stringify(got)}, want the ticket's ${JSON.stringify(holder)}`);

  await page.waitForTimeout(500);
  await shot(page, `booking-${mode}-watching`);
  out.screenshot = join(artifacts, `booking-${mode}-watching.png`);
  return out;
}, { timeoutMs: timeoutMs * 3 + 30000 });
