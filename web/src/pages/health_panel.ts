// Stream health, polled from GET /api/gigs/{id}/stream: what the server
// receives (codec, resolution, fps, bitrate, keyframe interval, B-frames),
// warnings in plain words with how to fix them, and viewers per protocol.
import { ApiError, streamHealth, type StreamHealth } from '../lib/api';
import { h, replace } from '../lib/dom';
import { duration } from '../lib/format';

const pollMs = 2000;

const protocolNames: Record<string, string> = {
  webrtc: 'WebRTC',
  whep: 'WebRTC',
  flv: 'HTTP-FLV',
  ws_flv: 'WebSocket-FLV',
  wsflv: 'WebSocket-FLV',
  chat: 'Chat only',
  total: 'Total',
};

export function healthPanel(host: HTMLElement, id: string, token: string, onLive: (live: boolean, source: string) => void): { close(): void } {
  let stopped = false;
  let timer = 0;
  const body = h('div', { class: 'health', 'data-testid': 'health' });
  replace(host, h('div', { class: 'panel-head' }, h('h2', null, 'Stream health'), h('span', { class: 'muted' }, 'what the server receives')), body);

  async function poll() {
    try {
      const s = await streamHealth(id, token);
      if (stopped) return;
      const live = isLive(s);
      onLive(live, typeof s.source === 'string' ? s.source : '');
      render(s, live);
    } catch (err) {
      if (stopped) return;
      if (err instanceof ApiError && (err.status === 404 || err.status === 409)) {
        onLive(false, '');
        render(null, false);
      } else {
        replace(body, h('p', { class: 'muted' }, err instanceof ApiError ? err.message : 'Stream health is unavailable right now.'));
      }
    }
    if (!stopped) timer = window.setTimeout(poll, pollMs);
  }

  function render(s: StreamHealth | null, live: boolean) {
    if (!s || !live) {
      replace(body,
        h('div', { class: 'health-off' },
          h('p', null, 'No stream is reaching the server.'),
          h('p', { class: 'muted' }, 'Press Go live above, or start streaming in OBS with the settings below. Health appears here within seconds.'),
        ),
      );
      body.dataset.live = 'false';
      return;
    }
    body.dataset.live = 'true';
    const v = s.video || {};
    const bframes = v.b_frames === true || (typeof v.b_frames === 'number' && v.b_frames > 0);
    const kf = v.keyframe_interval_s;
    const warnings = s.warnings || [];
    // Derived tracks are the server's own transcodes (AAC -> Opus for WebRTC).
    const audio = (s.audio || [])
      .map((a) =>
        [a.codec, a.sample_rate ? `${Math.round(a.sample_rate / 1000)} kHz` : '', a.channels === 2 ? 'stereo' : a.channels === 1 ? 'mono' : '', a.derived ? '(made by the server)' : '']
          .filter(Boolean)
          .join(' '),
      )
      .join(' · ');
    const viewers = Object.entries(s.viewers || {}).filter(([, n]) => typeof n === 'number');
    replace(body,
      h('div', { class: 'stats' },
        stat('Uptime', s.uptime_s !== undefined ? duration(s.uptime_s) : '—'),
        stat('Video', [v.codec, v.profile].filter(Boolean).join(' ') || '—'),
        stat('Resolution', v.width && v.height ? `${v.width}×${v.height}` : '—'),
        stat('Frame rate', v.fps ? `${Math.round(v.fps)} fps` : '—'),
        stat('Bitrate', v.bitrate_kbps ? `${Math.round(v.bitrate_kbps).toLocaleString()} kb/s` : '—', v.bitrate_kbps && v.bitrate_kbps > 8000 ? 'warn' : ''),
        stat('Keyframe every', kf ? `${kf.toFixed(1)} s` : '—', kf && kf > 2.5 ? 'warn' : kf ? 'ok' : ''),
        stat('B-frames', v.b_frames === undefined ? '—' : bframes ? 'Yes' : 'None', bframes ? 'bad' : v.b_frames === undefined ? '' : 'ok'),
        stat('Audio', audio || 'none', '', true),
      ),
      warnings.length
        ? h('ul', { class: 'warnings', 'aria-label': 'Warnings' },
            warnings.map((w) => h('li', { class: 'warning', 'data-code': w.code }, h('p', null, h('strong', null, w.message)), w.fix ? h('p', { class: 'muted' }, w.fix) : null)),
          )
        : h('p', { class: 'all-good' }, '✓ Everything looks good: viewers get sub-second playback.'),
      viewers.length
        ? h('div', { class: 'viewers-by' },
            h('h3', null, 'Watching now'),
            h('dl', null, viewers.map(([k, n]) => [h('dt', null, protocolNames[k] || k), h('dd', null, String(n))])),
          )
        : null,
    );
  }

  poll();
  return {
    close() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

function isLive(s: StreamHealth): boolean {
  if (typeof s.live === 'boolean') return s.live;
  return !!(s.video || (s.audio && s.audio.length));
}

function stat(label: string, value: string, tone = '', wide = false): HTMLElement {
  return h('div', { class: `stat${tone ? ` stat-${tone}` : ''}${wide ? ' stat-wide' : ''}` }, h('span', { class: 'stat-label' }, label), h('span', { class: 'stat-value' }, value));
}
