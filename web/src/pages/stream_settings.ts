// Stream settings: OBS (RTMP and WHIP) and encoder recommendations. Used by
// the one-time credentials page and the studio.
import { h, icon, icons } from '../lib/dom';
import type { GigSecrets } from '../lib/secrets';

export function rtmpURL(s: GigSecrets): string {
  return s.rtmp_url || `rtmp://${location.hostname}/live`;
}

export function whipURL(id: string, s: GigSecrets): string {
  return s.whip_url || `${location.origin}/whip/${encodeURIComponent(id)}`;
}

// copyRow shows a value with a copy button; secret values are masked until
// revealed.
export function copyRow(label: string, value: string, opts: { secret?: boolean; name: string }): HTMLElement {
  const input = h('input', {
    class: 'mono',
    type: opts.secret ? 'password' : 'text',
    readonly: true,
    value,
    'aria-label': label,
    'data-cred': opts.name,
    spellcheck: 'false',
    autocomplete: 'off',
  });
  const status = h('span', { class: 'copy-status', role: 'status', 'aria-live': 'polite' });
  const copyBtn = h('button', { class: 'btn btn-sm', type: 'button', 'aria-label': `Copy ${label}` }, icon(icons.copy), 'Copy');
  copyBtn.addEventListener('click', async () => {
    const ok = await copyText(value, input);
    status.textContent = ok ? 'Copied' : 'Select and copy it by hand';
    window.setTimeout(() => (status.textContent = ''), 2000);
  });
  const reveal = opts.secret
    ? h('button', {
        class: 'btn btn-sm btn-ghost',
        type: 'button',
        'aria-pressed': 'false',
        onclick: (e: MouseEvent) => {
          const shown = input.type === 'text';
          input.type = shown ? 'password' : 'text';
          const b = e.currentTarget as HTMLButtonElement;
          b.textContent = shown ? 'Show' : 'Hide';
          b.setAttribute('aria-pressed', String(!shown));
        },
      }, 'Show')
    : null;
  return h('div', { class: 'copy-row' },
    h('span', { class: 'copy-label' }, label),
    h('div', { class: 'copy-ctl' }, input, reveal, copyBtn, status),
  );
}

async function copyText(text: string, input: HTMLInputElement): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    /* fall back below */
  }
  // Plain-http hosts have no async clipboard: select the field and copy.
  const type = input.type;
  input.type = 'text';
  input.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  input.type = type;
  return ok;
}

export function obsSection(id: string, s: GigSecrets): HTMLElement {
  const key = s.stream_key || '';
  return h('div', { class: 'settings' },
    h('section', { class: 'panel' },
      h('h2', null, 'Stream from OBS (RTMP)'),
      h('p', { class: 'muted' }, 'Settings → Stream → Service: ', h('b', null, 'Custom…')),
      copyRow('Server', rtmpURL(s), { name: 'rtmp_url' }),
      key ? copyRow('Stream key', key, { secret: true, name: 'stream_key' }) : h('p', { class: 'muted' }, 'The stream key is not stored in this browser: rotate it in the studio to get a new one.'),
    ),
    h('section', { class: 'panel' },
      h('h2', null, 'Or over WHIP (OBS 30+, browsers, GStreamer)'),
      h('p', { class: 'muted' }, 'Settings → Stream → Service: ', h('b', null, 'WHIP'), '. The bearer token is the same stream key.'),
      copyRow('WHIP URL', whipURL(id, s), { name: 'whip_url' }),
      key ? copyRow('Bearer token', key, { secret: true, name: 'whip_token' }) : null,
    ),
    h('section', { class: 'panel' },
      h('h2', null, 'Recommended encoder settings'),
      h('p', { class: 'muted' }, 'These keep the delay under a second and let every viewer play your show.'),
      h('dl', { class: 'recs' },
        rec('Encoder', 'x264 or hardware H.264 (NVENC, QuickSync, VideoToolbox)'),
        rec('Rate control', 'CBR'),
        rec('Bitrate', '2,500 Kbps for 720p · 4,500 Kbps for 1080p'),
        rec('Keyframe interval', '1 s (2 s at most)'),
        rec('B-frames', '0 (in x264 options: bframes=0). With B-frames, WebRTC viewers see stutter.'),
        rec('Profile / tune', 'main or high · zerolatency'),
        rec('Audio', 'AAC, 48 kHz, 128-160 Kbps'),
      ),
    ),
  );
}

function rec(k: string, v: string) {
  return [h('dt', null, k), h('dd', null, v)];
}
