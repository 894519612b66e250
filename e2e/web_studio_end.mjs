// A creator whose key leaked ends the hijacked show from the studio: "End
// show" disconnects whoever streams to the gig, on every node.
//
//   node e2e/web_studio_end.mjs <baseURL> <artifactDir> <gigID> <manageToken> [timeoutSec]
//
// The gig must be live (someone publishing with its key). Prints
// {"ok":true,"message","status"}: the studio's message after the click and
// the gig's status as the API then reports it.
import { args, run, waitFor } from './web_lib.mjs';

const { base, artifacts, rest } = args('e2e/web_studio_end.mjs <baseURL> <artifactDir> <gigID> <manageToken> [timeoutSec]', 4);
const [gigId, token, timeoutSec = '30'] = rest;
const timeoutMs = Number(timeoutSec) * 1000;

await run(artifacts, async ({ context, newPage, shot }) => {
  await context.addInitScript(
    ([id, t]) => localStorage.setItem(`bmg.gig.${id}`, JSON.stringify({ manage_token: t })),
    [gigId, token],
  );
  const studio = await newPage();
  studio.on('dialog', (d) => d.accept());
  await studio.goto(`${base}/studio/${encodeURIComponent(gigId)}`);
  await studio.waitForSelector('[data-testid=end-show]');
  await studio.click('[data-testid=end-show]');
  const message = await waitFor('the studio to say the show ended', () =>
    studio.evaluate(() => {
      const t = document.querySelector('[data-testid=end-status]')?.textContent?.trim() || '';
      return t ? t : null;
    }), timeoutMs);
  await shot(studio, 'studio-ended');
  const status = await studio.evaluate(async (id) => (await (await fetch(`/api/gigs/${encodeURIComponent(id)}`)).json()).status, gigId);
  return { message, status };
}, { timeoutMs: timeoutMs + 30000 });
