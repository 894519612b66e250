// Watch page: the stage (player with countdown / ended / reconnecting
// states), the show's details and the chat panel. Ticketed gigs go through
// the gate (watch_gate.ts) first: "Book to watch" until this browser holds
// a ticket the server accepts.
import { ApiError, getGig, ticketed, type Gig } from '../lib/api';
import { h, icon, icons, replace } from '../lib/dom';
import { categoryClass, categoryLabel, countdown, formatPrice, formatWhen, plural } from '../lib/format';
import { Player, type PlayerState, type Transport } from '../lib/player';
import type { Page } from '../lib/router';
import { newScreenId, saveTicket } from '../lib/tickets';
import { chatPanel } from './chat_panel';
import { dropQuery, TicketGate } from './watch_gate';

const pollLiveMs = 15000;
const pollWaitingMs = 3000;

export const watchPage: Page = (root, { id }, query) => {
  document.title = 'Watch · BookMyGig';
  const pref = (['webrtc', 'flv'].includes(query.get('transport') || '') ? query.get('transport') : 'auto') as 'auto' | Transport;
  let gig: Gig | null = null;
  let stopped = false;
  let playerState: PlayerState = 'idle';
  let pollTimer = 0;
  let stalledSince = 0;
  let gate: TicketGate | null = null;
  const screen = newScreenId(); // this page, for the one-ticket-one-screen rule

  // A ticket link (/gig/{id}?ticket=tk_..., e.g. a comp ticket from the
  // creator) is kept in this browser and taken out of the address bar.
  const linked = query.get('ticket');
  if (linked) {
    saveTicket(id, { token: linked });
    dropQuery('ticket');
  }

  const video = h('video', { class: 'video', playsinline: true, muted: true, autoplay: true, 'aria-label': 'Live show' });
  const overlay = h('div', { class: 'stage-overlay', 'aria-live': 'polite' });
  const transportBadge = h('span', { class: 'pill pill-transport', 'data-testid': 'transport', hidden: true });
  const latencyBadge = h('span', { class: 'pill', 'data-testid': 'latency', hidden: true, title: 'Estimated delay on your side' });
  const liveBadge = h('span', { class: 'badge badge-live', hidden: true }, h('span', { class: 'dot-live', 'aria-hidden': 'true' }), 'LIVE');
  const viewersBadge = h('span', { class: 'pill', 'data-testid': 'viewers', hidden: true });
  const unmuteBig = h('button', { class: 'unmute-big', type: 'button', hidden: true }, icon(icons.volume), 'Tap to unmute');
  const muteBtn = h('button', { class: 'ctl', type: 'button', 'aria-label': 'Unmute (M)', title: 'Unmute (M)' }, icon(icons.mute));
  const fsBtn = h('button', { class: 'ctl', type: 'button', 'aria-label': 'Full screen (F)', title: 'Full screen (F)' }, icon(icons.fullscreen));
  const stage = h('div', { class: 'stage', 'data-state': 'loading' },
    video,
    overlay,
    unmuteBig,
    h('div', { class: 'stage-top' }, liveBadge, viewersBadge),
    h('div', { class: 'stage-controls' }, muteBtn, h('span', { class: 'grow' }), transportBadge, latencyBadge, fsBtn),
  );
  const fallbackNote = h('p', { class: 'fallback-note', 'data-testid': 'fallback-note', hidden: true, role: 'note' });
  const info = h('div', { class: 'gig-info' });
  const viewersText = h('span', { class: 'live-text' });
  const chatHost = h('aside', { class: 'chat-host', 'aria-label': 'Chat' });
  const gateHost = h('section', { class: 'gate', 'aria-live': 'polite', hidden: true });
  root.append(h('div', { class: 'watch' }, h('div', { class: 'watch-main' }, gateHost, stage, fallbackNote, info), chatHost));

  const player = new Player(video, id, pref, {
    onState(s, detail) {
      if (s === 'stalled' && playerState !== 'stalled') stalledSince = Date.now();
      playerState = s;
      stage.dataset.state = s;
      renderOverlay(detail);
      if (s === 'stalled' || s === 'offline') schedulePoll(pollWaitingMs);
      // On a ticket, a stop may mean another screen took it over or it was
      // revoked: the gate asks before the page retries.
      if (s === 'stalled' || s === 'offline' || s === 'error') gate?.checkPlayback();
      syncMute();
    },
    onDenied(code, message) {
      gate?.denied(code, message);
    },
    onQuiet() {
      gate?.checkPlayback();
    },
    onTransport(t, reason) {
      if (!t) {
        showTransport(null, reason);
        return;
      }
      showTransport(t, '');
    },
  });
  (window as any).__bmgPlayer = player; // read by the e2e scripts

  function showTransport(t: Transport | null, reason: string) {
    if (!t && reason) {
      // Tell why the lowest-delay path is not used (e.g. the creator's
      // encoder sends B-frames); the FLV badge follows.
      fallbackNote.textContent = `Playing over HTTP-FLV, with a little more delay. ${reason}`;
      fallbackNote.hidden = false;
    } else if (t === 'webrtc') fallbackNote.hidden = true;
    transportBadge.hidden = !t;
    if (t === 'webrtc') {
      transportBadge.textContent = 'WebRTC';
      transportBadge.title = 'Playing over WebRTC (WHEP): the lowest delay.';
      latencyBadge.title = 'Network and buffering delay on your side; the creator’s encoder adds a little more.';
    } else if (t === 'flv') {
      transportBadge.textContent = 'HTTP-FLV';
      transportBadge.title = reason || 'Playing over HTTP-FLV: a little more delay, works everywhere.';
      latencyBadge.title = 'Media buffered ahead of playback on your side.';
    }
    transportBadge.dataset.transport = t || '';
  }

  // Mute/unmute. Browsers only allow sound after a user gesture, so playback
  // starts muted with a big unmute button.
  function syncMute() {
    muteBtn.replaceChildren(icon(video.muted ? icons.mute : icons.volume));
    muteBtn.setAttribute('aria-label', video.muted ? 'Unmute (M)' : 'Mute (M)');
    muteBtn.title = muteBtn.getAttribute('aria-label')!;
    unmuteBig.hidden = !video.muted || playerState !== 'playing';
  }
  function toggleMute() {
    video.muted = !video.muted;
    if (!video.muted) video.play().catch(() => {});
    syncMute();
  }
  muteBtn.addEventListener('click', toggleMute);
  unmuteBig.addEventListener('click', toggleMute);
  function toggleFullscreen() {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    else stage.requestFullscreen?.().catch(() => {
      (video as any).webkitEnterFullscreen?.(); // iOS Safari
    });
  }
  fsBtn.addEventListener('click', toggleFullscreen);
  stage.addEventListener('dblclick', toggleFullscreen);
  const onKey = (e: KeyboardEvent) => {
    const t = e.target as HTMLElement;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.isContentEditable)) return;
    if (e.key === 'm' || e.key === 'M') toggleMute();
    else if (e.key === 'f' || e.key === 'F') toggleFullscreen();
  };
  document.addEventListener('keydown', onKey);

  function renderOverlay(detail = '') {
    if (!gig) return;
    overlay.classList.remove('scrim');
    if (gate?.state === 'elsewhere' && gig.status !== 'ended') {
      replace(overlay, h('div', { class: 'poster', 'data-testid': 'elsewhere' },
        h('p', { class: 'eyebrow' }, 'One ticket, one screen'),
        h('h2', null, 'This ticket is now watching elsewhere'),
        h('p', { class: 'muted' }, 'Your ticket started playing on another screen, so it stopped here. The chat keeps working.'),
        h('button', {
          class: 'btn btn-primary',
          type: 'button',
          'data-testid': 'watch-here',
          onclick: () => {
            gate?.resume();
            player.start();
          },
        }, 'Watch here'),
      ));
      overlay.hidden = false;
      return;
    }
    if (gig.status === 'ended') {
      replace(overlay, h('div', { class: 'poster' },
        h('p', { class: 'eyebrow' }, 'That’s a wrap'),
        h('h2', null, 'This show has ended'),
        h('p', { class: 'muted' }, `Thanks for coming to ${gig.title}.`),
        new Date(gig.ends_at).getTime() > Date.now()
          ? h('p', { class: 'muted small' }, 'If the creator comes back on stage, the show plays here by itself.')
          : null,
        h('a', { class: 'btn btn-primary', href: '/' }, 'Find another show'),
      ));
      overlay.hidden = false;
      return;
    }
    if (gig.status === 'scheduled' && playerState !== 'playing') {
      const cd = h('p', { class: 'big-countdown', 'data-countdown': gig.starts_at }, countdown(gig.starts_at));
      replace(overlay, h('div', { class: 'poster' },
        h('p', { class: 'eyebrow' }, 'Starts in'),
        cd,
        h('p', { class: 'muted' }, `${formatWhen(gig.starts_at)} · this page starts playing by itself.`),
      ));
      overlay.hidden = false;
      return;
    }
    if (playerState === 'playing') {
      overlay.hidden = true;
      overlay.classList.remove('scrim');
      replace(overlay);
      return;
    }
    const msg =
      detail ||
      (playerState === 'error' ? 'Playback failed.' : playerState === 'offline' ? 'Waiting for the creator…' : 'Connecting to the show…');
    // A stall keeps the last picture visible under a scrim.
    overlay.classList.toggle('scrim', playerState === 'stalled');
    replace(overlay, h('div', { class: 'poster' },
      playerState === 'error' ? null : h('div', { class: 'spinner', 'aria-hidden': 'true' }),
      h('p', null, msg),
      playerState === 'error' ? h('button', { class: 'btn', type: 'button', onclick: () => player.start() }, 'Try again') : null,
    ));
    overlay.hidden = false;
  }

  function renderInfo(g: Gig) {
    document.title = `${g.title} · BookMyGig`;
    replace(info,
      h('div', { class: 'gig-head' },
        h('div', null,
          h('h1', { class: 'gig-title' }, g.title),
          h('p', { class: 'gig-creator' }, `by ${g.creator_name}`),
        ),
        h('span', { class: 'price price-lg' }, formatPrice(g.price_minor, g.currency)),
      ),
      h('div', { class: 'gig-meta' },
        h('span', { class: `tag ${categoryClass(g.category)}` }, categoryLabel(g.category)),
        h('span', null, icon(icons.clock), h('time', { datetime: g.starts_at }, formatWhen(g.starts_at))),
        g.status === 'live' ? viewersText : null,
      ),
      g.description ? h('p', { class: 'gig-desc' }, g.description) : null,
    );
    liveBadge.hidden = g.status !== 'live';
    setViewers(g.viewers || 0, g.status === 'live');
    monetize(g.payment_pointer);
  }

  // Web Monetization: browsers that support it pay the creator's wallet
  // while this page is open.
  let monetization: HTMLLinkElement | null = null;
  function monetize(pointer?: string) {
    const href = pointer && /^https:\/\//.test(pointer) ? pointer : '';
    if (!href) {
      monetization?.remove();
      monetization = null;
      return;
    }
    if (!monetization) {
      monetization = h('link', { rel: 'monetization', href });
      document.head.append(monetization);
    } else if (monetization.getAttribute('href') !== href) monetization.setAttribute('href', href);
  }

  // mayPlay: open gigs always; ticketed ones once the gate granted.
  function mayPlay(): boolean {
    return !gate || gate.state === 'granted';
  }

  // The gate replaces the stage while it asks for a ticket (an ended show
  // shows its poster instead).
  function syncGate() {
    const show = !!gate && (gate.state === 'checking' || gate.state === 'blocked') && gig?.status !== 'ended';
    gateHost.hidden = !show;
    stage.hidden = show;
  }

  function openGate(g: Gig) {
    gate = new TicketGate(gateHost, g, screen, query.get('booking'), {
      grant(credential, name) {
        player.setAccess(credential, screen);
        syncGate();
        startChat(credential, name);
        fallbackNote.hidden = true;
        if (gig?.status === 'live') player.start();
        renderOverlay();
      },
      block() {
        player.stop();
        closeChat();
        lockedChat();
        syncGate();
      },
      elsewhere() {
        player.stop();
        showTransport(null, '');
        latencyBadge.hidden = true;
        renderOverlay();
      },
    });
    gate.start();
    syncGate();
  }

  // One number everywhere: the latest of the API's count and chat presence.
  function setViewers(n: number, show = true) {
    viewersText.textContent = `${plural(n, 'viewer')} watching`;
    viewersBadge.hidden = !show;
    viewersBadge.replaceChildren(icon(icons.people), ` ${n}`);
    viewersBadge.title = `${plural(n, 'person', 'people')} watching`;
  }

  async function refresh() {
    try {
      const g = await getGig(id);
      if (stopped) return;
      gig = g;
      renderInfo(g);
      if (ticketed(g) && !gate) openGate(g);
      else gate?.update(g);
      syncGate();
      if (g.status === 'live' && mayPlay()) {
        // Live (again): connect, or reconnect after a stall. A stalled WebRTC
        // session that is still connected resumes by itself when the creator
        // is back (the server keeps viewers across a publisher reconnect),
        // so it is only replaced after a long stall.
        const longStall = playerState === 'stalled' && Date.now() - stalledSince > 20000;
        if (playerState === 'idle' || playerState === 'offline' || (playerState === 'stalled' && (!player.connected || longStall))) {
          player.start();
        }
      } else if (g.status === 'ended' && playerState !== 'idle') {
        player.stop();
      }
      renderOverlay();
    } catch (err) {
      if (stopped) return;
      if (err instanceof ApiError && err.status === 404) {
        player.stop();
        replace(root, h('section', { class: 'empty big' },
          h('h1', null, 'Show not found'),
          h('p', null, 'This gig does not exist or was cancelled by its creator.'),
          h('a', { class: 'btn btn-primary', href: '/' }, 'Browse gigs'),
        ));
        stopped = true;
        return;
      }
      // Transient: keep whatever plays, try again later.
    }
    schedulePoll(gig?.status === 'live' && playerState === 'playing' ? pollLiveMs : pollWaitingMs);
  }

  function schedulePoll(ms: number) {
    if (stopped) return;
    clearTimeout(pollTimer);
    pollTimer = window.setTimeout(refresh, ms);
  }

  // Countdown, latency and transport badges refresh every second.
  const tick = window.setInterval(async () => {
    overlay.querySelectorAll<HTMLElement>('[data-countdown]').forEach((el) => (el.textContent = countdown(el.dataset.countdown!)));
    if (player.current) {
      const m = await player.collect();
      if (m.latencyMs !== null && playerState === 'playing') {
        latencyBadge.hidden = false;
        latencyBadge.textContent = m.latencyMs < 1000 ? `≈ ${m.latencyMs} ms` : `≈ ${(m.latencyMs / 1000).toFixed(1)} s`;
      } else latencyBadge.hidden = true;
    } else latencyBadge.hidden = true;
  }, 1000);

  // Chat joins once the gig's status is known: a viewer of a live show is
  // already counted by the media session, so the chat must not count them too.
  // On ticketed gigs it joins with the ticket, under the ticket's name.
  let chat: { close(): void } | null = null;
  function startChat(ticket?: string, name?: string) {
    closeChat();
    chat = chatPanel(chatHost, id, {
      ticket: ticket || undefined,
      name: ticket && name ? name.slice(0, 32) : undefined,
      onViewers: (n) => setViewers(n, gig?.status === 'live'),
      watching: () => gig?.status === 'live' || player.current !== null,
      onDenied: (code, message) => gate?.denied(code, message),
    });
  }
  function closeChat() {
    chat?.close();
    chat = null;
  }
  function lockedChat() {
    replace(chatHost, h('div', { class: 'chat chat-locked' },
      h('div', { class: 'chat-head' }, h('h2', null, 'Live chat')),
      h('p', { class: 'chat-locked-text muted' }, 'The chat is for ticket holders. Book a ticket to join the conversation.'),
    ));
  }
  renderOverlay();
  refresh().finally(() => {
    if (stopped || gate) return;
    startChat();
  });

  return () => {
    stopped = true;
    clearTimeout(pollTimer);
    clearInterval(tick);
    document.removeEventListener('keydown', onKey);
    player.stop();
    gate?.stop();
    closeChat();
    monetization?.remove();
    if ((window as any).__bmgPlayer === player) delete (window as any).__bmgPlayer;
  };
};
