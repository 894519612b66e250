// The watch page plays a live gig: video frames decoded and audio with
// energy, over the transport asked for.
//
//   node e2e/web_watch.mjs <baseURL> <artifactDir> <gigID> [mode] [timeoutSec]
//
// mode: auto (default: WebRTC expected), webrtc (forced, ?transport=webrtc),
// flv (forced, ?transport=flv), nowebrtc (RTCPeerConnection removed from the
// page before it loads: the page must fall back to HTTP-FLV by itself),
// refused (auto, but the server refuses WebRTC for this stream, e.g. it has
// B-frames: the page must fall back to HTTP-FLV and say why).
// Prints {"ok":true,"transport","frames_decoded","audio_energy",
// "audio_level","latency_ms","width","height","browse_live","viewers"}.
import { args, audioLevel, playerMetrics, run, waitFor } from './web_lib.mjs';

const { base, artifacts, rest } = args('e2e/web_watch.mjs <baseURL> <artifactDir> <gigID> [auto|webrtc|flv|nowebrtc] [timeoutSec]', 3);
const [gigId, mode = 'auto', timeoutSec = '30'] = rest;
const timeoutMs = Number(timeoutSec) * 1000;
const want = mode === 'auto' || mode === 'webrtc' ? 'webrtc' : 'flv';
if (!['auto', 'webrtc', 'flv', 'nowebrtc', 'refused'].includes(mode)) throw new Error(`unknown mode ${mode}`);

await run(artifacts, async ({ newPage, shot }) => {
  const page = await newPage();
  if (mode === 'nowebrtc') {
    await page.addInitScript(() => {
      // As if the browser had WebRTC disabled (policy or extension).
      delete window.RTCPeerConnection;
      delete window.webkitRTCPeerConnection;
    });
  }
  const q = mode === 'webrtc' || mode === 'flv' ? `?transport=${mode}` : '';
  await page.goto(`${base}/gig/${encodeURIComponent(gigId)}${q}`);
  await page.waitForSelector('.stage');

  const first = await waitFor(`decoded video over ${want}`, async () => {
    const m = await playerMetrics(page);
    return m && m.transport && m.framesDecoded > 0 ? m : null;
  }, timeoutMs);
  if (first.transport !== want) throw new Error(`playing over ${first.transport}, want ${want}`);

  // Unmute like a viewer would (autoplay rules start muted), then check sound.
  const unmute = await page.$('.unmute-big:not([hidden])');
  if (unmute) await unmute.click();
  else await page.keyboard.press('m');
  const m = await waitFor('audio', async () => {
    const x = await playerMetrics(page);
    return x && x.audioEnergy > 0 && x.framesDecoded > first.framesDecoded ? x : null;
  }, timeoutMs);
  const level = await audioLevel(page);
  await page.waitForTimeout(500);
  const ui = await page.evaluate(() => ({
    badge: document.querySelector('[data-testid=transport]')?.textContent || '',
    latency: document.querySelector('[data-testid=latency]')?.textContent || '',
    muted: document.querySelector('video.video')?.muted,
    fallbackNote: document.querySelector('[data-testid=fallback-note]:not([hidden])')?.textContent || '',
  }));
  if (mode === 'refused' && !ui.fallbackNote) throw new Error('no note says why WebRTC is not used');
  await shot(page, `watch-${mode}`);
  if (ui.muted) throw new Error('the unmute control did not unmute');

  // The gig shows as live on Browse.
  const browse = await newPage();
  await browse.goto(`${base}/`);
  const live = await waitFor('the gig live on Browse', () =>
    browse.evaluate((id) => {
      const c = document.querySelector(`a.card[data-gig="${CSS.escape(id)}"]`);
      return c ? { status: c.dataset.status, viewers: c.querySelector('.badge-viewers')?.textContent || '' } : null;
    }, gigId),
  );
  await shot(browse, `browse-live-${mode}`);

  return {
    transport: m.transport,
    frames_decoded: m.framesDecoded,
    audio_energy: m.audioEnergy,
    audio_level: level,
    latency_ms: m.latencyMs,
    width: m.width,
    height: m.height,
    badge: ui.badge,
    latency_badge: ui.latency,
    fallback_note: ui.fallbackNote,
    browse_live: live.status === 'live',
    viewers: Number(live.viewers) || 0,
  };
}, { timeoutMs: timeoutMs * 3 + 30000 });
