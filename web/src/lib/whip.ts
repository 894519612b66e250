// WHIP (RFC 9725) and WHEP signalling over HTTP: POST an SDP offer, get 201
// with the answer and a Location for the session, DELETE it when done. ICE
// servers may arrive in Link headers (rel="ice-server").

export class SignalError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code = '',
  ) {
    super(message);
  }
}

export interface Session {
  // location is the absolute URL of the session resource.
  location: string;
  // close DELETEs the session; a session that is already gone is fine.
  close(): Promise<void>;
}

// negotiate sends pc's offer to endpoint and applies the answer. It waits
// for ICE gathering (bounded) so that the offer carries candidates and no
// trickle PATCH is needed.
export async function negotiate(pc: RTCPeerConnection, endpoint: string, token?: string): Promise<Session> {
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  await gathered(pc, 1500);
  const headers: Record<string, string> = { 'Content-Type': 'application/sdp' };
  if (token) headers.Authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(endpoint, { method: 'POST', headers, body: pc.localDescription!.sdp });
  } catch {
    throw new SignalError(0, 'Cannot reach the server.');
  }
  const body = await res.text();
  if (res.status !== 201 && res.status !== 200) {
    throw errorFrom(res.status, body);
  }
  // A full node of a cluster answers 307 to another node (fetch follows it
  // with the same body): the session lives where the answer came from.
  const base = res.url || new URL(endpoint, location_()).href;
  const location = new URL(res.headers.get('Location') || base, base).href;
  const ice = parseIceServers(res.headers.get('Link'));
  if (ice.length) {
    try {
      pc.setConfiguration({ ...pc.getConfiguration(), iceServers: ice });
    } catch {
      /* some browsers refuse changes after gathering; loopback and LAN work without */
    }
  }
  await pc.setRemoteDescription({ type: 'answer', sdp: body });
  let closed = false;
  return {
    location,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await fetch(location, { method: 'DELETE', headers: token ? { Authorization: `Bearer ${token}` } : {}, keepalive: true });
      } catch {
        /* the server ends sessions whose peer went away by itself */
      }
    },
  };
}

function location_(): string {
  return window.location.href;
}

function errorFrom(status: number, body: string): SignalError {
  let msg = body.trim();
  let code = '';
  try {
    const j = JSON.parse(body);
    msg = j?.error?.message || j?.message || msg;
    code = j?.error?.code || '';
  } catch {
    /* plain text */
  }
  if (!msg || msg.length > 300) msg = `The server answered ${status}.`;
  return new SignalError(status, msg, code);
}

function gathered(pc: RTCPeerConnection, timeoutMs: number): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      pc.removeEventListener('icegatheringstatechange', check);
      clearTimeout(t);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === 'complete') done();
    };
    const t = window.setTimeout(done, timeoutMs);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

// parseIceServers reads RFC 9725 Link headers such as
//   <turn:t.example.net?transport=udp>; rel="ice-server"; username="u"; credential="p"
export function parseIceServers(link: string | null): RTCIceServer[] {
  if (!link) return [];
  const out: RTCIceServer[] = [];
  for (const part of splitLinks(link)) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (!m) continue;
    const params: Record<string, string> = {};
    for (const p of m[2].split(';')) {
      const kv = /^\s*([a-zA-Z-]+)\s*=\s*"?([^"]*)"?\s*$/.exec(p);
      if (kv) params[kv[1].toLowerCase()] = kv[2];
    }
    if (params.rel !== 'ice-server') continue;
    const s: RTCIceServer = { urls: m[1] };
    if (params.username) s.username = params.username;
    if (params.credential) s.credential = params.credential;
    out.push(s);
  }
  return out;
}

function splitLinks(v: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inAngle = false;
  let inQuote = false;
  for (const ch of v) {
    if (ch === '<' && !inQuote) inAngle = true;
    else if (ch === '>' && !inQuote) inAngle = false;
    else if (ch === '"') inQuote = !inQuote;
    if (ch === ',' && !inAngle && !inQuote) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur);
  return out;
}

// preferCodec moves the given codec (e.g. "video/H264") first in the
// transceiver's preferences, so the server gets what FLV viewers can play.
export function preferCodec(t: RTCRtpTransceiver, mime: string, kind: 'video' | 'audio'): void {
  // Receiver capabilities are what every Chromium version accepts here.
  const caps = RTCRtpReceiver.getCapabilities?.(kind) || RTCRtpSender.getCapabilities?.(kind);
  if (!caps || typeof t.setCodecPreferences !== 'function') return;
  const want = caps.codecs.filter((c) => c.mimeType.toLowerCase() === mime.toLowerCase());
  if (!want.length) return;
  // Put packetization-mode=1 and baseline-compatible profiles first.
  want.sort((a, b) => score(b.sdpFmtpLine) - score(a.sdpFmtpLine));
  const rest = caps.codecs.filter((c) => c.mimeType.toLowerCase() !== mime.toLowerCase());
  try {
    t.setCodecPreferences([...want, ...rest]);
  } catch {
    /* keep the browser's order */
  }
}

function score(fmtp = ''): number {
  let s = 0;
  if (fmtp.includes('packetization-mode=1')) s += 2;
  if (/profile-level-id=42e0/i.test(fmtp)) s += 1;
  return s;
}
