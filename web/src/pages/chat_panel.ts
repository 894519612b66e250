// The chat panel of the watch page and (with the manage token) the studio.
// All names and texts are set with textContent: the server sends plain text.
import { ChatClient, deniedCodes, type ChatEvent, type ChatMessage, type Status } from '../lib/chat_client';
import { h, icon, icons, replace } from '../lib/dom';
import { plural } from '../lib/format';
import { chatName, saveChatName } from '../lib/secrets';

export interface ChatPanelOptions {
  onViewers?: (n: number) => void;
  token?: string; // the creator's manage token: moderation controls
  name?: string; // join at once under this name (studio, ticket holders)
  ticket?: string; // the viewer's ticket on ticketed gigs (the name comes from it)
  watching?: () => boolean;
  onDenied?: (code: string, message: string) => void; // the ticket was refused
}

const maxRendered = 300;
const timeFmt = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });

export function chatPanel(host: HTMLElement, gigId: string, opts: ChatPanelOptions = {}): { close(): void } {
  const mod = !!opts.token;
  let me = '';
  let noticeTimer = 0;
  let blockedUntil = 0;

  const viewers = h('span', { class: 'chat-viewers', 'data-testid': 'chat-viewers' });
  const status = h('span', { class: 'chat-status', role: 'status' });
  const list = h('ol', { class: 'chat-list', role: 'log', 'aria-live': 'polite', 'aria-label': 'Chat messages', tabindex: 0 });
  const notice = h('div', { class: 'chat-notice', role: 'alert', hidden: true });
  const nameInput = h('input', { type: 'text', maxlength: 32, placeholder: 'Your name', 'aria-label': 'Your chat name', autocomplete: 'nickname', value: opts.name || chatName() });
  const nameForm = h('form', { class: 'chat-join' },
    h('p', null, 'Pick a name to join the chat and see what people are saying.'),
    h('div', { class: 'row' }, nameInput, h('button', { class: 'btn btn-primary', type: 'submit' }, 'Join chat')),
  );
  const text = h('textarea', { rows: 1, maxlength: 500, placeholder: 'Say something nice…', 'aria-label': 'Message', enterkeyhint: 'send' });
  const sendBtn = h('button', { class: 'btn btn-primary btn-icon', type: 'submit', 'aria-label': 'Send' }, icon(icons.send));
  const composer = h('form', { class: 'chat-compose', hidden: true }, text, sendBtn);
  const slowSel = h('select', { 'aria-label': 'Slow mode', 'data-testid': 'slow-mode' },
    [0, 5, 10, 30, 60].map((s) => h('option', { value: String(s) }, s ? `Slow mode: ${s} s` : 'Slow mode: off')),
  );
  const modBar = mod ? h('div', { class: 'chat-modbar' }, h('span', { class: 'muted' }, 'You moderate this chat'), slowSel) : null;
  // Banned participants, each with an Unban control (creator only).
  const banned = new Map<string, string>(); // user id -> name
  const banList = h('ul', { class: 'chat-bans-list' });
  const banCount = h('span');
  const bansBox = mod
    ? h('details', { class: 'chat-modbar chat-bans', 'data-testid': 'chat-bans', hidden: true }, h('summary', null, banCount), banList)
    : null;

  replace(host,
    h('div', { class: `chat${mod ? ' chat-mod' : ''}` },
      h('div', { class: 'chat-head' }, h('h2', null, 'Live chat'), viewers, status),
      modBar,
      bansBox,
      list,
      notice,
      nameForm,
      composer,
    ),
  );

  const client = new ChatClient(gigId, { onEvent, onStatus }, { token: opts.token, ticket: opts.ticket, watching: opts.watching });

  nameForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const n = nameInput.value.trim();
    if (!n) {
      showNotice('Type a name first (up to 32 characters).');
      nameInput.focus();
      return;
    }
    if (!mod) saveChatName(n);
    client.join(n);
  });
  composer.addEventListener('submit', (e) => {
    e.preventDefault();
    sendText();
  });
  text.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      sendText();
    }
  });
  slowSel.addEventListener('change', () => client.send({ type: 'slow', seconds: Number(slowSel.value) }));

  function sendText() {
    const t = text.value.trim();
    if (!t) return;
    if (Date.now() < blockedUntil) {
      showNotice(`Wait ${Math.ceil((blockedUntil - Date.now()) / 1000)} s before sending again.`);
      return;
    }
    if (client.send({ type: 'message', text: t })) {
      text.value = '';
      text.focus();
    } else showNotice('Not connected. Reconnecting…');
  }

  function onStatus(s: Status) {
    status.textContent = s === 'open' ? '' : s === 'connecting' ? 'connecting…' : s === 'banned' ? 'removed' : 'reconnecting…';
    status.dataset.status = s;
    if (s === 'banned') {
      composer.hidden = true;
      nameForm.hidden = true;
    }
  }

  function onEvent(e: ChatEvent) {
    switch (e.type) {
      case 'joined':
        me = e.user;
        nameForm.hidden = true;
        composer.hidden = false;
        if (!opts.name) text.focus();
        break;
      case 'history':
        replace(list);
        for (const m of e.messages || []) list.append(renderMessage(m));
        if (!e.messages?.length) list.append(h('li', { class: 'chat-system empty-hint' }, 'No messages yet. Say hello!'));
        scroll(true);
        break;
      case 'message':
        list.querySelector('.chat-system.empty-hint')?.remove();
        list.append(renderMessage(e));
        while (list.children.length > maxRendered) list.firstElementChild?.remove();
        scroll(e.user === me);
        break;
      case 'system':
        systemLine(e.text);
        break;
      case 'presence':
        viewers.replaceChildren(icon(icons.people), ` ${e.viewers}`);
        viewers.title = `${plural(e.viewers, 'person', 'people')} here`;
        opts.onViewers?.(e.viewers);
        break;
      case 'deleted':
        list.querySelector(`[data-id="${CSS.escape(e.id)}"]`)?.remove();
        break;
      case 'moderation':
        onModeration(e);
        break;
      case 'bans':
        banned.clear();
        for (const u of e.users || []) banned.set(u, nameOf(u));
        renderBans();
        break;
      case 'error':
        onError(e);
        break;
      case 'restarting':
        systemLine('The server is restarting. Reconnecting…');
        break;
    }
  }

  function onModeration(e: Extract<ChatEvent, { type: 'moderation' }>) {
    if (e.action === 'slow') {
      // The server announces it with a system line too; only sync the control.
      if (mod) slowSel.value = String(e.seconds || 0);
    } else if (e.user && e.user === me) {
      if (e.action === 'mute') {
        if (e.seconds) {
          blockedUntil = Date.now() + e.seconds * 1000;
          showNotice(`The creator muted you for ${span(e.seconds)}.`, e.seconds * 1000);
        } else {
          blockedUntil = 0;
          showNotice('You can chat again.');
        }
      } else if (e.action === 'ban') {
        showNotice('The creator removed you from this chat.', 0);
        composer.hidden = true;
      }
    } else if (mod && e.user) {
      const who = nameOf(e.user);
      if (e.action === 'mute') systemLine(e.seconds ? `${who} is muted for ${span(e.seconds)}.` : `${who} can chat again.`);
      else if (e.action === 'ban') systemLine(`${who} was banned.`);
      else if (e.action === 'unban') systemLine(`${banned.get(e.user) || who} may join again.`);
    }
    if (mod && e.user && (e.action === 'ban' || e.action === 'unban')) {
      if (e.action === 'ban') banned.set(e.user, banned.get(e.user) || nameOf(e.user));
      else banned.delete(e.user);
      renderBans();
    }
    if (e.action === 'ban' && e.user) {
      // Drop a banned participant's messages from the page.
      list.querySelectorAll(`[data-user="${CSS.escape(e.user)}"]`).forEach((el) => el.remove());
    }
  }

  function onError(e: Extract<ChatEvent, { type: 'error' }>) {
    if (deniedCodes.includes(e.code)) {
      composer.hidden = true;
      nameForm.hidden = true;
      showNotice(e.code === 'ticket_revoked' ? 'Your ticket was revoked: the chat is closed for it.' : e.message || 'This chat is for ticket holders.', 0);
      opts.onDenied?.(e.code, e.message);
      return;
    }
    const wait = e.retry_after_ms ? Math.ceil(e.retry_after_ms / 1000) : 0;
    switch (e.code) {
      case 'rate_limited':
        blockedUntil = Date.now() + (e.retry_after_ms || 0);
        showNotice(`Slow down a little: you can send again in ${wait || 'a few'} s.`, e.retry_after_ms || 4000);
        break;
      case 'slow_mode':
        blockedUntil = Date.now() + (e.retry_after_ms || 0);
        showNotice(`Slow mode is on: wait ${wait || 'a few'} s.`, e.retry_after_ms || 4000);
        break;
      case 'muted':
        showNotice(wait ? `You are muted for ${span(wait)} more.` : 'You are muted.', e.retry_after_ms || 5000);
        break;
      case 'banned':
        showNotice('You were removed from this chat by the creator.', 0);
        composer.hidden = true;
        nameForm.hidden = true;
        break;
      case 'invalid_name':
        nameForm.hidden = false;
        composer.hidden = true;
        showNotice(e.message || 'That name cannot be used.');
        nameInput.focus();
        break;
      case 'unauthorized':
        showNotice('The manage token was refused: moderation is off in this browser.', 0);
        break;
      case 'moderation_not_saved':
        showNotice(e.message || 'That moderation could not be saved: it may not hold on every server. Try again shortly.', 10000);
        break;
      case 'too_many_connections':
        showNotice('Too many chat connections from your network. Close a tab and reload.', 0);
        break;
      default:
        showNotice(e.message || 'The chat refused that.');
    }
  }

  function renderMessage(m: ChatMessage): HTMLLIElement {
    const li = h('li', { class: `chat-msg${m.creator ? ' is-creator' : ''}${m.user === me ? ' is-me' : ''}`, 'data-id': m.id, 'data-user': m.user },
      h('div', { class: 'chat-line' },
        h('span', { class: 'chat-name', style: `--hue:${hue(m.user)}` }, m.name),
        m.creator ? h('span', { class: 'chat-badge' }, 'creator') : null,
        h('time', { class: 'chat-time', datetime: new Date(m.ts).toISOString() }, timeFmt.format(new Date(m.ts))),
      ),
      h('p', { class: 'chat-text' }, m.text),
    );
    if (mod && !m.creator) {
      li.append(h('div', { class: 'chat-actions' },
        h('button', { class: 'btn btn-xs', type: 'button', 'data-action': 'delete', onclick: () => client.send({ type: 'delete', id: m.id }) }, 'Delete'),
        h('button', { class: 'btn btn-xs', type: 'button', 'data-action': 'mute', onclick: () => client.send({ type: 'mute', user: m.user, seconds: 300 }) }, 'Mute 5 min'),
        h('button', {
          class: 'btn btn-xs btn-danger',
          type: 'button',
          'data-action': 'ban',
          onclick: () => {
            if (confirm(`Ban ${m.name} from this show's chat?`)) client.send({ type: 'ban', user: m.user });
          },
        }, 'Ban'),
      ));
    }
    return li;
  }

  function renderBans() {
    if (!bansBox) return;
    bansBox.hidden = banned.size === 0;
    banCount.textContent = `Banned (${banned.size})`;
    replace(banList,
      ...[...banned].map(([user, name]) =>
        h('li', { 'data-user': user },
          h('span', null, name === 'A participant' ? user : name), ' ',
          h('button', {
            class: 'btn btn-xs',
            type: 'button',
            'data-action': 'unban',
            onclick: () => client.send({ type: 'unban', user }),
          }, 'Unban'),
        ),
      ),
    );
  }

  function nameOf(user: string): string {
    const el = list.querySelector(`[data-user="${CSS.escape(user)}"] .chat-name`);
    return el?.textContent || 'A participant';
  }

  function systemLine(t: string) {
    list.append(h('li', { class: 'chat-system' }, t));
    scroll(false);
  }

  function showNotice(t: string, ms = 4000) {
    notice.textContent = t;
    notice.hidden = false;
    clearTimeout(noticeTimer);
    if (ms > 0) noticeTimer = window.setTimeout(() => (notice.hidden = true), ms);
  }

  // Follow new messages unless the reader scrolled up to read older ones.
  function scroll(force: boolean) {
    const near = list.scrollHeight - list.scrollTop - list.clientHeight < 120;
    if (force || near) list.scrollTop = list.scrollHeight;
  }

  // Join at once with a known name; otherwise connect on the name prompt.
  const initial = (opts.name || chatName()).trim();
  if (initial) client.join(initial);
  else {
    list.append(h('li', { class: 'chat-system empty-hint' }, 'Join to see the conversation.'));
  }

  return {
    close() {
      clearTimeout(noticeTimer);
      client.close();
    },
  };
}

function hue(s: string): number {
  let x = 0;
  for (let i = 0; i < s.length; i++) x = (x * 31 + s.charCodeAt(i)) >>> 0;
  return x % 360;
}

// span says a duration the way people do: "45 s", "5 min", "2 h".
function span(sec: number): string {
  if (sec < 60) return `${sec} s`;
  if (sec < 3600) return `${Math.round(sec / 60)} min`;
  return `${Math.round(sec / 3600)} h`;
}
