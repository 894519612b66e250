// The studio goes live from the fake camera over WHIP and another page
// watches it over WebRTC; then the broadcast ends from the studio.
//
//   node e2e/web_studio_live.mjs <baseURL> <artifactDir> <gigID> <manageToken> <streamKey> [timeoutSec]
//
// Prints {"ok":true,"published","sent_kbps","viewer_transport",
// "viewer_frames","viewer_audio_energy","health_live","ended"}.
import { args, playerMetrics, run, waitFor } from './web_lib.mjs';

const { base, artifacts, rest } = args('e2e/web_studio_live.mjs <baseURL> <artifactDir> <gigID> <manageToken> <streamKey> [timeoutSec]', 5);
const [gigId, token, key, timeoutSec = '30'] = rest;
const timeoutMs = Number(timeoutSec) * 1000;

await run(artifacts, async ({ context, newPage, shot }) => {
  await context.addInitScript(
    ([id, t, k]) => localStorage.setItem(`bmg.gig.${id}`, JSON.stringify({ manage_token: t, stream_key: k })),
    [gigId, token, key],
  );
  const studio = await newPage();
  await studio.goto(`${base}/studio/${encodeURIComponent(gigId)}`);
  await studio.click('.golive button:has-text("Turn camera on")');
  await studio.waitForSelector('[data-testid=go-live]:not([disabled])');
  await studio.click('[data-testid=go-live]');
  await waitFor('the studio to be live', () => studio.evaluate(() => document.querySelector('.golive')?.dataset.state === 'live'), timeoutMs);
  const sent = await waitFor('bytes flowing out', () =>
    studio.evaluate(async () => {
      const s = await window.__bmgPublisher?.stats();
      return s && s.kbps > 0 ? s : null;
    }),
  timeoutMs);

  const viewer = await newPage();
  await viewer.goto(`${base}/gig/${encodeURIComponent(gigId)}`);
  await waitFor('the viewer decoding video', async () => {
    const x = await playerMetrics(viewer);
    return x && x.framesDecoded > 0 ? x : null;
  }, timeoutMs);
  // Unmute like a viewer would (autoplay rules start muted), then check sound.
  const unmute = await viewer.$('.unmute-big:not([hidden])');
  if (unmute) await unmute.click();
  else await viewer.keyboard.press('m');
  const m = await waitFor('the viewer hearing the microphone', async () => {
    const x = await playerMetrics(viewer);
    return x && x.audioEnergy > 0 ? x : null;
  }, timeoutMs);
  await shot(viewer, 'viewer-of-studio');

  const healthLive = await waitFor('stream health in the studio', () =>
    studio.evaluate(() => document.querySelector('[data-testid=health]')?.dataset.live === 'true'),
  timeoutMs).catch(() => false);
  await shot(studio, 'studio-live');

  await studio.click('[data-testid=go-live]'); // End broadcast
  const ended = await waitFor('the studio to stop', () => studio.evaluate(() => document.querySelector('.golive')?.dataset.state === 'idle'), 10000);

  return {
    published: true,
    sent_kbps: sent.kbps,
    sent_codec: sent.codec,
    viewer_transport: m.transport,
    viewer_frames: m.framesDecoded,
    viewer_audio_energy: m.audioEnergy,
    health_live: healthLive,
    ended,
  };
}, { timeoutMs: timeoutMs * 4 + 30000 });
