// Shared pieces of the web_*.mjs browser scripts. Each script takes
//   node e2e/web_<name>.mjs <baseURL> <artifactDir> [script arguments...]
// drives the embedded web app in Debian's chromium (browser.mjs) and prints
// exactly one JSON line through result(): {"ok":true,...} with exit 0, or
// {"ok":false,"error":"...",...} with exit 1. Screenshots go to artifactDir.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { launch, result } from './browser.mjs';

export { result };

// args parses the common arguments and fails with a usage line.
export function args(usage, min = 2) {
  const a = process.argv.slice(2);
  if (a.length < min) result({ ok: false, error: `usage: node ${usage}` }, 2);
  const base = a[0].replace(/\/+$/, '');
  const artifacts = a[1];
  mkdirSync(artifacts, { recursive: true });
  return { base, artifacts, rest: a.slice(2) };
}

// run launches the browser, calls fn(ctx) and reports its result; any throw
// becomes {"ok":false}. ctx: {context, shot(page, name), pageErrors, newPage()}.
export async function run(artifacts, fn, opts = {}) {
  const b = await launch(opts.extraArgs || []);
  const pageErrors = [];
  const shot = async (page, name) => {
    try {
      await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
    } catch {
      /* a failed screenshot must not hide the real result */
    }
  };
  const newPage = async (viewport = { width: 1280, height: 800 }) => {
    const page = await b.context.newPage();
    await page.setViewportSize(viewport);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    return page;
  };
  let out;
  let code = 0;
  const deadline = setTimeout(() => {
    result({ ok: false, error: 'script timed out', pageErrors }, 1);
  }, opts.timeoutMs || 120000);
  try {
    out = { ok: true, ...(await fn({ context: b.context, shot, newPage, pageErrors })) };
    if (pageErrors.length) out.pageErrors = pageErrors;
  } catch (e) {
    out = { ok: false, error: String(e?.stack || e).split('\n').slice(0, 4).join(' | '), pageErrors };
    code = 1;
    for (const p of b.context.pages()) await shot(p, `failure-${b.context.pages().indexOf(p)}`);
  }
  clearTimeout(deadline);
  await b.close();
  result(out, code);
}

// waitFor polls fn (run in the test, may be async) until it returns a truthy
// value or timeoutMs passes; then it throws with the last value.
export async function waitFor(what, fn, timeoutMs = 20000, everyMs = 250) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

// playerMetrics reads the watch page's player (window.__bmgPlayer).
export async function playerMetrics(page) {
  return page.evaluate(async () => {
    const p = window.__bmgPlayer;
    if (!p) return null;
    const m = await p.collect();
    const v = document.querySelector('video.video');
    return { ...m, muted: v ? v.muted : null, paused: v ? v.paused : null };
  });
}

// audioLevel measures the RMS level (0..1) of what the page's main video
// element plays, through a Web Audio analyser on its captured stream.
export async function audioLevel(page, ms = 1500) {
  return page.evaluate(async (ms) => {
    const v = document.querySelector('video.video');
    if (!v || !v.captureStream) return -1;
    const s = v.captureStream();
    if (!s.getAudioTracks().length) return -2;
    const ac = new AudioContext();
    await ac.resume();
    const src = ac.createMediaStreamSource(s);
    const an = ac.createAnalyser();
    an.fftSize = 2048;
    src.connect(an);
    const buf = new Float32Array(an.fftSize);
    let peak = 0;
    const end = performance.now() + ms;
    while (performance.now() < end) {
      await new Promise((r) => setTimeout(r, 50));
      an.getFloatTimeDomainData(buf);
      let sum = 0;
      for (const x of buf) sum += x * x;
      peak = Math.max(peak, Math.sqrt(sum / buf.length));
    }
    src.disconnect();
    await ac.close();
    return peak;
  }, ms);
}
