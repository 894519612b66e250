// Browse, then list a gig through the form, and capture the credentials the
// page shows once.
//
//   node e2e/web_list_gig.mjs <baseURL> <artifactDir> [title]
//
// Prints {"ok":true,"gig_id","stream_key","manage_token","rtmp_url",
// "whip_url","watch_url","validation_field","validation_message",
// "browse_empty_or_listed"}. The form is first sent without a title to
// check that the API's message shows beside the title field.
import { args, run, waitFor } from './web_lib.mjs';

const { base, artifacts, rest } = args('e2e/web_list_gig.mjs <baseURL> <artifactDir> [title]');
const title = rest[0] || `E2E stand-up ${Date.now().toString(36)}`;

await run(artifacts, async ({ newPage, shot }) => {
  const page = await newPage();
  await page.goto(`${base}/`);
  await page.waitForSelector('.hero h1');
  await waitFor('browse to load', () => page.evaluate(() => !document.querySelector('.loading')));
  await shot(page, 'browse');

  await page.click('header nav a[href="/new"]');
  await page.waitForSelector('form.gig-form');
  await shot(page, 'new-empty');

  // Send without a title: the API's validation message must appear beside it.
  await page.fill('#f-creator_name', 'E2E Comedy Club');
  await page.selectOption('#f-category', 'Comedy');
  // Free and open: the watch, chat and moderation runs that follow need no ticket
  // (booking has its own runs in web_booking.mjs).
  await page.fill('#f-price_minor', '0');
  await page.selectOption('#f-currency', 'USD');
  await page.fill('#f-description', 'A test show <b>with markup</b> that must stay text.');
  // Start a minute from now so the show can go live during the test.
  await page.evaluate(() => {
    const pad = (n) => String(n).padStart(2, '0');
    const fmt = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
    const s = new Date(Date.now() + 60e3);
    const e = new Date(Date.now() + 2 * 3600e3);
    for (const [id, v] of [['#f-starts_at', fmt(s)], ['#f-ends_at', fmt(e)]]) {
      const el = document.querySelector(id);
      el.value = v;
      el.dispatchEvent(new Event('input', { bubbles: true }));
    }
  });
  await page.click('form.gig-form button[type=submit]');
  const validation = await waitFor('a validation message beside a field', () =>
    page.evaluate(() => {
      const el = [...document.querySelectorAll('.field-error')].find((e) => e.textContent.trim());
      return el ? { field: el.id.replace(/^f-/, '').replace(/-err$/, ''), message: el.textContent.trim() } : null;
    }),
  );
  await shot(page, 'new-validation');
  if (validation.field !== 'title') throw new Error(`validation message shown beside ${validation.field}, want title`);

  await page.fill('#f-title', title);
  await page.click('form.gig-form button[type=submit]');
  await page.waitForURL(/\/gig\/[^/]+\/credentials$/, { timeout: 15000 });
  await page.waitForSelector('[data-cred="stream_key"]');
  const creds = await page.evaluate(() => {
    const v = (n) => document.querySelector(`[data-cred="${n}"]`)?.value || '';
    return {
      stream_key: v('stream_key'),
      manage_token: v('manage_token'),
      rtmp_url: v('rtmp_url'),
      whip_url: v('whip_url'),
      whip_token: v('whip_token'),
      watch_url: v('watch_url'),
      warning: document.querySelector('.callout-warn')?.textContent || '',
    };
  });
  const gigId = decodeURIComponent(new URL(page.url()).pathname.split('/')[2]);
  // Reveal the secrets for the artifact screenshot only after reading them.
  await shot(page, 'credentials');
  if (!creds.stream_key || !creds.manage_token) throw new Error('credentials page shows no stream key or manage token');
  if (creds.whip_token !== creds.stream_key) throw new Error('WHIP token differs from the stream key');
  if (!/shows them this one time/i.test(creds.warning)) throw new Error('no shown-once warning');

  // The new gig appears on Browse with its title as text.
  await page.goto(`${base}/`);
  const listed = await waitFor('the gig on Browse', () =>
    page.evaluate((id) => document.querySelector(`a.card[data-gig="${CSS.escape(id)}"] .card-title`)?.textContent || '', gigId),
  );
  await shot(page, 'browse-listed');
  if (listed !== title) throw new Error(`Browse shows ${JSON.stringify(listed)}, want ${JSON.stringify(title)}`);

  return {
    gig_id: gigId,
    title,
    stream_key: creds.stream_key,
    manage_token: creds.manage_token,
    rtmp_url: creds.rtmp_url,
    whip_url: creds.whip_url,
    watch_url: creds.watch_url,
    validation_field: validation.field,
    validation_message: validation.message,
  };
});
