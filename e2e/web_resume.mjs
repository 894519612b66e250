// The watch page resumes by itself when the creator's stream drops and
// comes back. The caller stops and restarts the publisher while this runs:
//
//   node e2e/web_resume.mjs <baseURL> <artifactDir> <gigID> [mode] [timeoutSec]
//
// mode as in web_watch.mjs (auto, webrtc, flv, nowebrtc). The script waits
// for playback, then (within timeoutSec) for playback to stop (decoded
// frames stop advancing, or the page leaves the playing state), then for
// frames to advance again, without reloading. Prints {"ok":true,
// "transport_before","transport_after","down_state","resumed_after_ms",
// "resumed_at" (Unix ms when the page played again, frames advancing in
// the 600 ms after it, for callers that time from their own event)}.
// Once the page plays it writes <artifactDir>/resume-playing-<mode>, the
// caller's cue to drop the publisher.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { args, playerMetrics, run, waitFor } from './web_lib.mjs';

const { base, artifacts, rest } = args('e2e/web_resume.mjs <baseURL> <artifactDir> <gigID> [mode] [timeoutSec]', 3);
const [gigId, mode = 'auto', timeoutSec = '60'] = rest;
const timeoutMs = Number(timeoutSec) * 1000;

await run(artifacts, async ({ newPage, shot }) => {
  const page = await newPage();
  if (mode === 'nowebrtc') await page.addInitScript(() => delete window.RTCPeerConnection);
  const q = mode === 'webrtc' || mode === 'flv' ? `?transport=${mode}` : '';
  await page.goto(`${base}/gig/${encodeURIComponent(gigId)}${q}`);
  const first = await waitFor('playback', async () => {
    const m = await playerMetrics(page);
    return m && m.state === 'playing' && m.framesDecoded > 0 ? m : null;
  }, timeoutMs);
  // Tells the caller (which drops the publisher) that the page plays.
  writeFileSync(join(artifacts, `resume-playing-${mode}`), String(first.framesDecoded));

  // Down: the page notices (stalled / offline / ended) or frames freeze.
  let frames = first.framesDecoded;
  let still = 0;
  const down = await waitFor('the stream to drop', async () => {
    const m = await playerMetrics(page);
    const stageState = await page.evaluate(() => document.querySelector('.stage')?.dataset.state || '');
    if (!m || m.state !== 'playing' || stageState !== 'playing') return m?.state || stageState || 'gone';
    still = m.framesDecoded === frames ? still + 1 : 0;
    frames = m.framesDecoded;
    return still >= 8 ? 'frozen' : null; // 2 s without a new frame
  }, timeoutMs);
  await shot(page, `resume-down-${mode}`);
  const downAt = Date.now();

  let playingAt = 0; // when the page played again (confirmed just after)
  const back = await waitFor('playback to resume', async () => {
    const m = await playerMetrics(page);
    if (!m || m.state !== 'playing' || !m.framesDecoded) return null;
    const a = m.framesDecoded;
    const at = Date.now();
    await new Promise((r) => setTimeout(r, 600));
    const m2 = await playerMetrics(page);
    if (m2 && m2.state === 'playing' && m2.framesDecoded > a) {
      playingAt = at;
      return m2;
    }
    return null;
  }, timeoutMs);
  await shot(page, `resume-back-${mode}`);
  const reloaded = await page.evaluate(() => performance.getEntriesByType('navigation').length !== 1);
  if (reloaded) throw new Error('the page reloaded');
  return {
    transport_before: first.transport,
    transport_after: back.transport,
    down_state: down,
    resumed_after_ms: Date.now() - downAt,
    resumed_at: playingAt,
  };
}, { timeoutMs: timeoutMs * 3 + 30000 });
