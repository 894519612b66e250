// WebSocket client for a gig's chat (protocol in chat/doc.go): join with a
// display name (and the manage token for the creator, the ticket on
// ticketed gigs), history, live
// messages, presence, moderation events and errors. Reconnects by itself
// with backoff and joins again under the same name. A guest keeps the
// server-signed guest token of its first join (localStorage, per site) and
// sends it back, so mutes and slow mode follow it across reconnects.

export interface ChatMessage {
  id: string;
  user: string;
  name: string;
  text: string;
  ts: number;
  creator?: boolean;
}

export type ChatEvent =
  | { type: 'joined'; user: string; name: string; creator: boolean; guest?: string }
  | { type: 'bans'; users: string[] }
  | { type: 'history'; messages: ChatMessage[] }
  | ({ type: 'message' } & ChatMessage)
  | { type: 'system'; text: string }
  | { type: 'presence'; viewers: number }
  | { type: 'deleted'; id: string }
  | { type: 'moderation'; action: 'mute' | 'ban' | 'unban' | 'slow' | string; user?: string; seconds?: number }
  | { type: 'error'; code: string; message: string; retry_after_ms?: number }
  | { type: 'restarting' };

export type Status = 'connecting' | 'open' | 'closed' | 'banned';

// The chat's refusals of a ticket (access.Code on the server).
export const deniedCodes = ['ticket_required', 'invalid_ticket', 'ticket_revoked'];

const guestKey = 'bmg.chat.guest';

function loadGuest(): string {
  try {
    return localStorage.getItem(guestKey) || '';
  } catch {
    return '';
  }
}

function saveGuest(tok: string): void {
  try {
    localStorage.setItem(guestKey, tok);
  } catch {
    /* storage disabled: a new guest id on every visit */
  }
}

export interface ChatHandlers {
  onEvent(e: ChatEvent): void;
  onStatus(s: Status): void;
}

export class ChatClient {
  private ws: WebSocket | null = null;
  private closed = false;
  private retry = 0;
  private timer = 0;
  private name = '';
  private banned = false;

  constructor(
    private gigId: string,
    private h: ChatHandlers,
    private opts: { token?: string; ticket?: string; watching?: () => boolean } = {},
  ) {}

  get joinedName(): string {
    return this.name;
  }

  // join connects (if needed) and joins under name.
  join(name: string): void {
    this.name = name;
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.sendJoin();
    else if (!this.ws) this.connect();
  }

  send(obj: Record<string, unknown>): boolean {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(obj));
    return true;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.ws?.close(1000);
    this.ws = null;
  }

  private sendJoin(): void {
    const j: Record<string, unknown> = { type: 'join', name: this.name };
    if (this.opts.token) j.token = this.opts.token;
    if (this.opts.ticket) j.ticket = this.opts.ticket;
    const guest = this.opts.token || this.opts.ticket ? '' : loadGuest();
    if (guest) j.guest = guest;
    if (this.opts.watching?.()) j.watching = true;
    this.send(j);
  }

  private connect(): void {
    if (this.closed || this.banned) return;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${proto}//${location.host}/api/gigs/${encodeURIComponent(this.gigId)}/chat`);
    this.ws = ws;
    this.h.onStatus('connecting');
    ws.onopen = () => {
      this.retry = 0;
      this.h.onStatus('open');
      if (this.name) this.sendJoin();
    };
    ws.onmessage = (m) => {
      let e: ChatEvent;
      try {
        e = JSON.parse(String(m.data));
      } catch {
        return;
      }
      if (!e || typeof e !== 'object' || typeof (e as any).type !== 'string') return;
      // Banned, or the ticket does not admit (revoked, invalid): reconnecting
      // would only be refused again.
      if (e.type === 'error' && (e.code === 'banned' || deniedCodes.includes(e.code))) this.banned = true;
      if (e.type === 'restarting') this.retry = 0;
      if (e.type === 'joined' && typeof e.guest === 'string' && e.guest) saveGuest(e.guest);
      this.h.onEvent(e);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.closed) return;
      if (this.banned) {
        this.h.onStatus('banned');
        return;
      }
      this.h.onStatus('closed');
      // Backoff 0.5 s, 1 s, 2 s ... 15 s, with jitter.
      const delay = Math.min(15000, 500 * 2 ** this.retry++) * (0.75 + Math.random() * 0.5);
      this.timer = window.setTimeout(() => this.connect(), delay);
    };
  }
}
