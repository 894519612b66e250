// Per-gig secrets kept in this browser's localStorage so that the creator's
// studio works after the one-time credentials page. They never leave the
// browser except as Authorization headers to this server.

export interface GigSecrets {
  manage_token?: string;
  stream_key?: string;
  rtmp_url?: string;
  whip_url?: string;
}

const key = (id: string) => `bmg.gig.${id}`;

export function loadSecrets(id: string): GigSecrets {
  try {
    return JSON.parse(localStorage.getItem(key(id)) || '{}') as GigSecrets;
  } catch {
    return {};
  }
}

export function saveSecrets(id: string, s: GigSecrets): void {
  try {
    localStorage.setItem(key(id), JSON.stringify({ ...loadSecrets(id), ...s }));
  } catch {
    /* storage full or disabled: the studio will ask for the token */
  }
}

export function forgetSecrets(id: string): void {
  try {
    localStorage.removeItem(key(id));
  } catch {
    /* ignore */
  }
}

// myGigs lists the gig ids this browser manages.
export function myGigs(): string[] {
  const out: string[] = [];
  try {
    for (let i = 0; i < localStorage.length; i++) {
      const k = localStorage.key(i);
      if (k && k.startsWith('bmg.gig.')) out.push(k.slice('bmg.gig.'.length));
    }
  } catch {
    /* ignore */
  }
  return out;
}

export function chatName(): string {
  try {
    return localStorage.getItem('bmg.chat.name') || '';
  } catch {
    return '';
  }
}

export function saveChatName(n: string): void {
  try {
    localStorage.setItem('bmg.chat.name', n);
  } catch {
    /* ignore */
  }
}
