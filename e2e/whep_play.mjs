// Plays a WHEP stream in headless Chromium with e2e/whep_player.html (served
// by the Go test from another origin than the WHEP server) and prints one
// JSON line: the POST result, time to first frame and getStats figures after
// `seconds` of playback, then the DELETE status.
//
// usage: node whep_play.mjs PAGE_URL WHEP_URL SECONDS [expect-error]
import { launch, result } from './browser.mjs';

const [pageURL, whepURL, secondsArg, mode] = process.argv.slice(2);
const seconds = Number(secondsArg || 10);
const b = await launch();
let out;
let code = 0;
try {
  const page = await b.context.newPage();
  const logs = [];
  page.on('console', (m) => logs.push(m.text()));
  await page.goto(pageURL);
  const post = await page.evaluate((u) => window.whepPlay(u), whepURL);
  if (mode === 'expect-error' || post.status !== 201) {
    out = { post, logs };
  } else {
    // Sample once a second so a stall shows up even if it recovers.
    const samples = [];
    for (let i = 0; i < seconds; i++) {
      await page.waitForTimeout(1000);
      samples.push(await page.evaluate(() => window.whepStats()));
    }
    const final = samples[samples.length - 1];
    const del = await page.evaluate(() => window.whepStop());
    out = { post, final, framesBySecond: samples.map((s) => s.video && s.video.framesDecoded), freezesBySecond: samples.map((s) => s.video && s.video.freezeCount), del, logs };
  }
} catch (e) {
  out = { error: String((e && e.stack) || e) };
  code = 1;
}
await b.close();
result(out, code);
