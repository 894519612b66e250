// Smoke check used by internal/browsertest: the browser starts and renders.
import { launch, result } from './browser.mjs';

const b = await launch();
try {
  const page = await b.context.newPage();
  await page.setContent('<p id="x">ok</p>');
  const text = await page.textContent('#x');
  const hasRTC = await page.evaluate(() => typeof RTCPeerConnection === 'function');
  result({ text, hasRTC });
} catch (e) {
  result({ error: String(e) }, 1);
} finally {
  await b.close();
}
