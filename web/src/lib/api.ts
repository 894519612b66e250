// Client for the gig REST API (/api/gigs). Every error the server sends has
// the shape {"error":{"code","message","field"}}; ApiError carries it so that
// forms can show the message beside the field it names.

export type GigStatus = 'scheduled' | 'live' | 'ended';
export type GigAccess = 'open' | 'ticket';

export interface Gig {
  id: string;
  title: string;
  creator_name: string;
  description: string;
  category: string;
  price_minor: number;
  currency: string;
  starts_at: string;
  ends_at: string;
  payment_pointer?: string;
  // access: "ticket" needs a ticket to watch and chat (a price forces it).
  access?: GigAccess;
  capacity?: number; // seats; 0 = unlimited
  tickets_sold?: number;
  seats_left?: number; // only when capacity > 0
  status: GigStatus;
  viewers: number;
  created_at?: string;
  updated_at?: string;
}

export interface Credentials {
  stream_key: string;
  manage_token: string;
  rtmp_url?: string;
  whip_path?: string;
  whip_url?: string;
  [k: string]: unknown;
}

export interface GigInput {
  creator_name: string;
  title: string;
  description: string;
  category: string;
  price_minor: number;
  currency: string;
  starts_at: string;
  ends_at: string;
  payment_pointer?: string;
  access?: GigAccess;
  capacity?: number;
}

export interface GigList {
  gigs: Gig[];
  next_cursor?: string;
}

export interface StreamWarning {
  code: string;
  message: string;
  fix?: string;
}

export interface StreamHealth {
  live?: boolean;
  video?: {
    codec?: string;
    profile?: string;
    width?: number;
    height?: number;
    fps?: number;
    bitrate_kbps?: number;
    keyframe_interval_s?: number;
    b_frames?: boolean | number;
  } | null;
  audio?: Array<{ codec?: string; sample_rate?: number; channels?: number; bitrate_kbps?: number; derived?: boolean }> | null;
  viewers?: Record<string, number> | null;
  warnings?: StreamWarning[] | null;
  uptime_s?: number;
  source?: string;
  [k: string]: unknown;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

// call sends one JSON request. 2xx answers resolve (202 too: callers that
// care about it look at the body); others throw ApiError.
export async function call<T>(method: string, path: string, body?: unknown, token?: string): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'network', 'Cannot reach the server. Check your connection and try again.');
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: any = undefined;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  if (!res.ok) {
    const e = data?.error;
    throw new ApiError(
      res.status,
      e?.code || `http_${res.status}`,
      e?.message || defaultMessage(res.status),
      e?.field || undefined,
    );
  }
  return data as T;
}

function defaultMessage(status: number): string {
  switch (status) {
    case 401:
    case 403:
      return 'This browser does not hold the manage token for this gig.';
    case 404:
      return 'This gig does not exist (any more).';
    case 503:
      return 'The server is busy or its storage is unavailable. Try again in a moment.';
    default:
      return `The server answered ${status}.`;
  }
}

// ticketed says whether watching the gig needs a ticket.
export function ticketed(g: Pick<Gig, 'access' | 'price_minor'>): boolean {
  return g.access === 'ticket' || g.price_minor > 0;
}

export function listGigs(q: Record<string, string | number | undefined>): Promise<GigList> {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') p.set(k, String(v));
  const qs = p.toString();
  return call<GigList>('GET', `/api/gigs${qs ? `?${qs}` : ''}`);
}

// Responses may wrap the gig ({gig:{...}}) or be the gig itself.
function unwrap(d: any): Gig {
  return d && d.gig ? d.gig : d;
}

export async function getGig(id: string): Promise<Gig> {
  return unwrap(await call('GET', `/api/gigs/${encodeURIComponent(id)}`));
}

// createGig answers the gig (its fields at the top level of the body, or
// under "gig") and the credentials, which the server shows this once.
export async function createGig(input: GigInput): Promise<{ gig: Gig; credentials: Credentials }> {
  const d: any = await call('POST', '/api/gigs', input);
  return { gig: unwrap(d), credentials: d?.credentials || {} };
}

export async function updateGig(id: string, patch: Partial<GigInput>, token: string): Promise<Gig> {
  return unwrap(await call('PATCH', `/api/gigs/${encodeURIComponent(id)}`, patch, token));
}

export function deleteGig(id: string, token: string): Promise<void> {
  return call('DELETE', `/api/gigs/${encodeURIComponent(id)}`, undefined, token);
}

// endShow ends the live show on every node (the publisher is disconnected;
// the key still works unless it is rotated too).
export async function endShow(id: string, token: string): Promise<Gig> {
  return unwrap(await call('POST', `/api/gigs/${encodeURIComponent(id)}/end`, undefined, token));
}

export async function rotateKey(id: string, token: string): Promise<string> {
  const d: any = await call('POST', `/api/gigs/${encodeURIComponent(id)}/stream-key`, undefined, token);
  return d?.stream_key || d?.credentials?.stream_key || '';
}

export function streamHealth(id: string, token?: string): Promise<StreamHealth> {
  return call('GET', `/api/gigs/${encodeURIComponent(id)}/stream`, undefined, token);
}
