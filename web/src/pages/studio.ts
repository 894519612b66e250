// Creator studio: go live from the browser (WHIP), stream health, chat
// moderation, stream settings, edit, rotate key, delete.
import { ApiError, deleteGig, endShow, getGig, rotateKey, ticketed, updateGig, type Gig } from '../lib/api';
import { h, replace } from '../lib/dom';
import { formatWhen } from '../lib/format';
import { devices, Publisher, qualities, type PublishState } from '../lib/publisher';
import { navigate, type Page } from '../lib/router';
import { forgetSecrets, loadSecrets, saveSecrets } from '../lib/secrets';
import { SignalError } from '../lib/whip';
import { chatPanel } from './chat_panel';
import { gigForm } from './gig_form';
import { healthPanel } from './health_panel';
import { obsSection } from './stream_settings';
import { ticketsPanel } from './tickets_panel';

export const studioPage: Page = (root, { id }) => {
  document.title = 'Studio · BookMyGig';
  const cleanups: Array<() => void> = [];
  let stopped = false;

  const secrets = loadSecrets(id);
  if (!secrets.manage_token) {
    renderTokenPrompt();
    return () => {};
  }
  const token = secrets.manage_token;

  const head = h('div', { class: 'studio-head' });
  const goLive = h('section', { class: 'panel golive' });
  const health = h('section', { class: 'panel' });
  const chatHost = h('aside', { class: 'chat-host', 'aria-label': 'Chat moderation' });
  const manage = h('div', { class: 'manage' });
  const ticketsHost = h('section', { class: 'panel tickets-panel', 'data-testid': 'tickets-panel', hidden: true });
  root.append(
    h('div', { class: 'studio' },
      head,
      h('div', { class: 'studio-grid' }, h('div', { class: 'studio-main' }, goLive, health), chatHost),
      ticketsHost,
      manage,
    ),
  );

  // ---- Tickets (ticketed gigs) ----
  let tickets: { refresh(): void; close(): void } | null = null;
  cleanups.push(() => tickets?.close());
  function syncTickets() {
    const on = !!gig && ticketed(gig);
    ticketsHost.hidden = !on;
    if (on && !tickets) tickets = ticketsPanel(ticketsHost, id, token, () => gig);
    else if (!on && tickets) {
      tickets.close();
      tickets = null;
      replace(ticketsHost);
    }
  }

  let gig: Gig | null = null;
  async function loadGig() {
    try {
      gig = await getGig(id);
      if (stopped) return;
      renderHead(gig);
      syncTickets();
    } catch (err) {
      if (stopped) return;
      if (err instanceof ApiError && err.status === 404) {
        replace(root, h('section', { class: 'empty big' }, h('h1', null, 'Gig not found'), h('p', null, 'It may have been deleted.'), h('a', { class: 'btn btn-primary', href: '/' }, 'Browse gigs')));
        stopped = true;
      }
    }
  }

  function renderHead(g: Gig) {
    document.title = `Studio · ${g.title} · BookMyGig`;
    replace(head,
      h('div', null,
        h('p', { class: 'eyebrow' }, 'Studio'),
        h('h1', null, g.title),
        h('p', { class: 'muted' }, `${formatWhen(g.starts_at)} · by ${g.creator_name}`),
      ),
      h('div', { class: 'studio-head-side' },
        h('span', { class: `status-pill status-${g.status}`, 'data-testid': 'gig-status' }, g.status === 'live' ? 'LIVE' : g.status === 'ended' ? 'Ended' : 'Scheduled'),
        h('a', { class: 'btn btn-ghost', href: `/gig/${encodeURIComponent(id)}`, target: '_blank', rel: 'noopener' }, 'Audience page ↗'),
      ),
    );
  }

  // ---- Go live from the browser ----
  const preview = h('video', { class: 'preview', muted: true, autoplay: true, playsinline: true, 'aria-label': 'Camera preview' });
  const camSel = h('select', { 'aria-label': 'Camera' });
  const micSel = h('select', { 'aria-label': 'Microphone' });
  const qSel = h('select', { 'aria-label': 'Quality' }, qualities.map((q, i) => h('option', { value: String(i) }, q.label)));
  const camBtn = h('button', { class: 'btn', type: 'button' }, 'Turn camera on');
  const liveBtn = h('button', { class: 'btn btn-primary btn-lg', type: 'button', disabled: true, 'data-testid': 'go-live' }, 'Go live');
  const pubStatus = h('p', { class: 'pub-status', role: 'status', 'aria-live': 'polite' }, 'Camera off.');
  const pubStats = h('p', { class: 'pub-stats muted' });
  const externalNote = h('p', { class: 'external-note', hidden: true, role: 'status' });
  let pubState: PublishState = 'idle';
  const pub = new Publisher((s, detail) => {
    pubState = s;
    goLive.dataset.state = s;
    liveBtn.textContent = s === 'idle' || s === 'error' ? 'Go live' : 'End broadcast';
    camBtn.disabled = !(s === 'idle' || s === 'error');
    liveBtn.classList.toggle('btn-danger', !(s === 'idle' || s === 'error'));
    pubStatus.textContent =
      s === 'live' ? 'You are live from this browser.' : s === 'connecting' ? 'Connecting…' : s === 'idle' ? (pub.stream ? 'Ready. Press Go live when you are.' : 'Camera off.') : detail;
    pubStatus.dataset.state = s;
  });
  (window as any).__bmgPublisher = pub; // read by the e2e scripts
  cleanups.push(() => {
    pub.release();
    if ((window as any).__bmgPublisher === pub) delete (window as any).__bmgPublisher;
  });

  replace(goLive,
    h('div', { class: 'panel-head' }, h('h2', null, 'Go live from this browser'), h('span', { class: 'muted' }, 'WHIP · H.264 + Opus')),
    h('div', { class: 'golive-grid' },
      h('div', { class: 'preview-wrap' }, preview, h('span', { class: 'preview-off' }, 'Camera off')),
      h('div', { class: 'golive-ctl' },
        h('label', null, 'Camera', camSel),
        h('label', null, 'Microphone', micSel),
        h('label', null, 'Quality', qSel),
        h('div', { class: 'row' }, camBtn, liveBtn),
        pubStatus,
        pubStats,
      ),
    ),
    externalNote,
    h('p', { class: 'muted small' }, 'Prefer OBS? Use the stream settings below; press End broadcast here first if this browser is live.'),
  );

  async function fillDevices() {
    try {
      const d = await devices();
      const fill = (sel: HTMLSelectElement, list: MediaDeviceInfo[], kind: string) => {
        const cur = sel.value;
        replace(sel, list.map((x, i) => h('option', { value: x.deviceId }, x.label || `${kind} ${i + 1}`)));
        if (cur && list.some((x) => x.deviceId === cur)) sel.value = cur;
      };
      fill(camSel, d.video, 'Camera');
      fill(micSel, d.audio, 'Microphone');
    } catch {
      /* no media devices API (insecure origin) */
    }
  }

  async function openCamera() {
    if (!navigator.mediaDevices?.getUserMedia) {
      pubStatus.textContent = 'This browser cannot use the camera here. Camera access needs HTTPS (or localhost).';
      return;
    }
    try {
      const s = await pub.capture(camSel.value, micSel.value, qualities[Number(qSel.value)]);
      preview.srcObject = s;
      preview.play().catch(() => {});
      goLive.classList.add('has-camera');
      camBtn.textContent = 'Turn camera off';
      liveBtn.disabled = false;
      if (pubState === 'idle') pubStatus.textContent = 'Ready. Press Go live when you are.';
      await fillDevices();
    } catch (err) {
      pubStatus.textContent = `Cannot open the camera or microphone: ${(err as Error).message || err}. Allow access in the address bar and try again.`;
    }
  }
  camBtn.addEventListener('click', () => {
    if (!pub.stream) return openCamera();
    if (pub.live) return; // the button is disabled while live
    pub.release();
    preview.srcObject = null;
    goLive.classList.remove('has-camera');
    camBtn.textContent = 'Turn camera on';
    liveBtn.disabled = true;
    pubStatus.textContent = 'Camera off.';
  });
  for (const sel of [camSel, micSel, qSel]) sel.addEventListener('change', () => pub.stream && openCamera());
  navigator.mediaDevices?.addEventListener?.('devicechange', fillDevices);
  cleanups.push(() => navigator.mediaDevices?.removeEventListener?.('devicechange', fillDevices));
  fillDevices();

  liveBtn.addEventListener('click', async () => {
    if (pubState !== 'idle' && pubState !== 'error') {
      liveBtn.disabled = true;
      await pub.stop();
      liveBtn.disabled = false;
      return;
    }
    const key = loadSecrets(id).stream_key;
    if (!key) {
      pubStatus.textContent = 'This browser does not hold the stream key. Rotate the key below to get a new one, then try again.';
      return;
    }
    liveBtn.disabled = true;
    try {
      await pub.start(id, key, qualities[Number(qSel.value)]);
    } catch (err) {
      let msg = (err as Error).message || String(err);
      if (err instanceof SignalError) {
        if (err.status === 401 || err.status === 403) msg = 'The server refused the stream key. Rotate the key below and try again.';
        else if (err.status === 409) msg = `Already live from somewhere else (OBS or another tab). ${err.message}`;
        else if (err.status === 404 || err.status === 405) msg = 'This server does not accept browser broadcasts (WHIP) yet. Use OBS with the settings below.';
      }
      pubState = 'error';
      goLive.dataset.state = 'error';
      pubStatus.textContent = msg;
      pubStatus.dataset.state = 'error';
      liveBtn.textContent = 'Go live';
      liveBtn.classList.remove('btn-danger');
    } finally {
      liveBtn.disabled = false;
    }
  });

  const statsTimer = window.setInterval(async () => {
    const s = await pub.stats().catch(() => null);
    pubStats.textContent = s ? `Sending ${s.width}×${s.height} · ${s.fps} fps · ${s.kbps} kb/s${s.codec ? ` · ${s.codec}` : ''}` : '';
  }, 1000);
  cleanups.push(() => clearInterval(statsTimer));

  // ---- Health ----
  const studioMain = goLive.parentElement!;
  const hp = healthPanel(health, id, token, (live, source) => {
    if (gig && (gig.status === 'live') !== live) loadGig();
    // Live from an encoder (OBS over RTMP, or WHIP from elsewhere): its
    // health matters most, so it moves to the top.
    const external = live && !pub.live;
    studioMain.classList.toggle('external-live', external);
    externalNote.hidden = !external;
    externalNote.textContent = external
      ? `You are live from ${source === 'rtmp' ? 'OBS or another RTMP encoder' : 'another WHIP client'}. End that stream before going live from this browser.`
      : '';
  });
  cleanups.push(hp.close);

  // ---- Chat with moderation ----
  // Joins under the creator's name once the gig is known.
  let chat: { close(): void } | null = null;
  cleanups.push(() => chat?.close());

  // ---- Settings, edit, danger zone ----
  let rotateMsg = '';
  function renderManage() {
    const s = loadSecrets(id);
    const editHost = h('div');
    const rotateOut = h('p', { class: 'muted', role: 'status', 'data-testid': 'rotate-status' }, rotateMsg);
    const deleteOut = h('p', { class: 'field-error', role: 'alert' });
    const endOut = h('p', { class: 'muted', role: 'status', 'data-testid': 'end-status' });
    replace(manage,
      h('details', { class: 'panel fold' }, h('summary', null, h('h2', null, 'Stream settings for OBS and WHIP')), obsSection(id, s)),
      h('details', { class: 'panel fold' }, h('summary', null, h('h2', null, 'Edit gig')), editHost),
      h('section', { class: 'panel danger' },
        h('h2', null, 'Keys and removal'),
        h('div', { class: 'danger-row' },
          h('div', null,
            h('h3', null, 'End show'),
            h('p', { class: 'muted' }, 'Disconnects whoever is streaming to this gig, on every server. If your key leaked, rotate it too (rotating also ends the show).'),
            endOut,
          ),
          h('button', {
            class: 'btn',
            type: 'button',
            'data-testid': 'end-show',
            onclick: async (e: MouseEvent) => {
              const b = e.currentTarget as HTMLButtonElement;
              if (!confirm('End the live show now?')) return;
              b.disabled = true;
              try {
                await pub.stop();
                gig = await endShow(id, token);
                endOut.textContent = 'The show has ended.';
              } catch (err) {
                endOut.textContent = err instanceof ApiError ? err.message : 'Could not end the show.';
              } finally {
                b.disabled = false;
              }
            },
          }, 'End show'),
        ),
        h('div', { class: 'danger-row' },
          h('div', null,
            h('h3', null, 'Rotate stream key'),
            h('p', { class: 'muted' }, 'The old key stops working at once. Do it if the key leaked (for example shown on stream); then update OBS.'),
            rotateOut,
          ),
          h('button', {
            class: 'btn',
            type: 'button',
            'data-testid': 'rotate-key',
            onclick: async (e: MouseEvent) => {
              const b = e.currentTarget as HTMLButtonElement;
              if (!confirm('Rotate the stream key? OBS will need the new one.')) return;
              b.disabled = true;
              try {
                const k = await rotateKey(id, token);
                saveSecrets(id, { stream_key: k });
                rotateMsg = 'New key saved in this browser. Open “Stream settings” above to copy it.';
                renderManage();
              } catch (err) {
                rotateOut.textContent = err instanceof ApiError ? err.message : 'Could not rotate the key.';
              } finally {
                b.disabled = false;
              }
            },
          }, 'Rotate key'),
        ),
        h('div', { class: 'danger-row' },
          h('div', null,
            h('h3', null, 'Delete gig'),
            h('p', { class: 'muted' }, 'Removes the listing for everyone. This cannot be undone.'),
            deleteOut,
          ),
          h('button', {
            class: 'btn btn-danger',
            type: 'button',
            onclick: async () => {
              if (!confirm('Delete this gig for good?')) return;
              try {
                await pub.stop();
                await deleteGig(id, token);
                forgetSecrets(id);
                navigate('/', true);
              } catch (err) {
                deleteOut.textContent = err instanceof ApiError ? err.message : 'Could not delete the gig.';
              }
            },
          }, 'Delete gig'),
        ),
      ),
    );
    if (gig) {
      const saved = h('p', { class: 'muted', role: 'status' });
      const f = gigForm({
        gig,
        submitLabel: 'Save changes',
        onSubmit: async (form) => {
          form.setBusy(true);
          try {
            gig = await updateGig(id, form.values(), token);
            renderHead(gig);
            syncTickets();
            tickets?.refresh();
            saved.textContent = 'Saved.';
          } catch (err) {
            form.showError(err);
          } finally {
            form.setBusy(false);
          }
        },
      });
      editHost.append(f.form, saved);
    }
  }

  loadGig().then(() => {
    if (stopped) return;
    renderManage();
    chat = chatPanel(chatHost, id, { token, name: (gig?.creator_name || 'Creator').slice(0, 32) });
  });
  const gigTimer = window.setInterval(() => !document.hidden && loadGig(), 10000);
  cleanups.push(() => clearInterval(gigTimer));

  return () => {
    stopped = true;
    for (const c of cleanups.reverse()) {
      try {
        c();
      } catch {
        /* keep cleaning */
      }
    }
  };

  // renderTokenPrompt asks for the manage token when this browser lacks it.
  function renderTokenPrompt() {
    const input = h('input', { type: 'password', class: 'mono', autocomplete: 'off', 'aria-label': 'Manage token', placeholder: 'Paste the manage token' });
    const err = h('p', { class: 'field-error', role: 'alert' });
    root.append(
      h('section', { class: 'page narrow' },
        h('h1', null, 'Open the studio'),
        h('p', { class: 'lead' }, 'The studio needs the gig’s manage token, which was shown when the gig was listed.'),
        h('form', {
          class: 'panel',
          onsubmit: async (e: SubmitEvent) => {
            e.preventDefault();
            const t = input.value.trim();
            if (!t) return;
            try {
              // A PATCH with no changes checks the token without changing anything.
              await updateGig(id, {}, t);
              saveSecrets(id, { manage_token: t });
              navigate(`/studio/${encodeURIComponent(id)}`, true);
            } catch (ex) {
              err.textContent = ex instanceof ApiError && (ex.status === 401 || ex.status === 403) ? 'That token does not belong to this gig.' : ex instanceof ApiError ? ex.message : 'Could not check the token.';
            }
          },
        },
          h('div', { class: 'field' }, h('label', null, 'Manage token', input), err),
          h('button', { class: 'btn btn-primary', type: 'submit' }, 'Open studio'),
        ),
      ),
    );
  }
};
