// Player: WebRTC (WHEP) first, HTTP-FLV through mpegts.js as the fallback.
//
// Fallback rules: the server refusing WebRTC for this stream (409/415/422/
// 501, e.g. B-frames or a codec browsers cannot take over RTP), WebRTC
// failing to connect, or no decoded frame within a few seconds all switch to
// FLV. A 404 means "not live yet": the owner polls and calls start() again.
import { negotiate, SignalError, type Session } from './whip';

export type Transport = 'webrtc' | 'flv';
export type PlayerState = 'idle' | 'connecting' | 'playing' | 'stalled' | 'offline' | 'error';

export interface PlayerEvents {
  onState(state: PlayerState, detail: string): void;
  onTransport(t: Transport | null, reason: string): void;
  // onDenied: the server refused the ticket (401/403 with its error code,
  // e.g. ticket_required, invalid_ticket, ticket_revoked). No fallback is
  // tried: the page decides what to show.
  onDenied?(code: string, message: string): void;
  // onQuiet: no new frame for a moment while playing (before 'stalled'): a
  // ticketed page asks whether its ticket moved to another screen.
  onQuiet?(): void;
}

export interface PlayerMetrics {
  transport: Transport | null;
  state: PlayerState;
  framesDecoded: number;
  audioEnergy: number; // WebRTC: totalAudioEnergy; FLV: decoded audio bytes
  latencyMs: number | null;
  width: number;
  height: number;
  fps: number;
  bitrateKbps: number;
}

const firstFrameTimeoutMs = 8000;
const stallMs = 4000;
const quietMs = 1500;
// nodeCheckMs without a frame makes the player ask whether its node is
// still there (30 fps video: 30 frames missed).
const nodeCheckMs = 1000;

export class Player {
  private pc: RTCPeerConnection | null = null;
  private session: Session | null = null;
  private flv: any = null;
  private transport: Transport | null = null;
  private state: PlayerState = 'idle';
  private timers: number[] = [];
  private lastFrames = 0;
  private lastFrameAt = 0;
  private lastBytes = 0;
  private lastBytesAt = 0;
  private fpsFrames = 0;
  private fpsAt = 0;
  private metricsCache: PlayerMetrics;
  private gen = 0; // bumps on every (re)start so stale async work stops
  private webrtcRefused = false;
  private whepMisses = 0; // consecutive WHEP 404s
  private connectionLost = false;
  private checking = false; // a checkNode probe is under way
  private credential = ''; // ticket (or the creator's manage token) on ticketed gigs
  private screen = ''; // this page's name for the one-ticket-one-screen rule

  constructor(
    private video: HTMLVideoElement,
    private gigId: string,
    private pref: 'auto' | Transport,
    private ev: PlayerEvents,
  ) {
    this.metricsCache = this.emptyMetrics();
    video.muted = true; // autoplay rules: start muted, the page offers unmute
    video.playsInline = true;
    video.autoplay = true;
  }

  get current(): Transport | null {
    return this.transport;
  }

  // connected reports a WebRTC session whose transport is still up: the
  // server keeps it across a publisher's reconnect, so frames resume on it.
  get connected(): boolean {
    return this.transport === 'webrtc' && this.pc?.connectionState === 'connected';
  }

  // setAccess sets the credential sent with the media requests of ticketed
  // gigs (WHEP: Authorization: Bearer; HTTP-FLV: ?ticket=) and this page's
  // screen id (?screen= on both). Takes effect on the next start().
  setAccess(credential: string, screen: string): void {
    this.credential = credential;
    this.screen = screen;
  }

  // query is the ?screen= (and for FLV ?ticket=) part of a media URL.
  private query(withTicket: boolean): string {
    const p = new URLSearchParams();
    if (withTicket && this.credential) p.set('ticket', this.credential);
    if (this.screen) p.set('screen', this.screen);
    const s = p.toString();
    return s ? `?${s}` : '';
  }

  // start connects, picking the transport. Safe to call again to retry.
  async start(): Promise<void> {
    this.teardown();
    const gen = ++this.gen;
    this.setState('connecting', 'Connecting to the show…');
    const useWebRTC = this.pref === 'webrtc' || (this.pref === 'auto' && !this.webrtcRefused && typeof RTCPeerConnection === 'function');
    if (useWebRTC) {
      const outcome = await this.startWebRTC(gen);
      if (gen !== this.gen || outcome === 'ok' || outcome === 'offline' || outcome === 'denied') return;
      if (this.pref === 'webrtc') {
        this.setState('error', 'WebRTC playback failed.');
        return;
      }
      this.ev.onTransport(null, outcome);
    } else if (this.pref === 'auto' && typeof RTCPeerConnection !== 'function') {
      this.ev.onTransport(null, 'WebRTC is turned off in this browser.');
    }
    await this.startFLV(gen);
  }

  stop(): void {
    this.gen++;
    this.teardown();
    this.setState('idle', '');
  }

  private teardown(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.session?.close();
    this.session = null;
    if (this.pc) {
      this.pc.ontrack = null;
      this.pc.onconnectionstatechange = null;
      this.pc.close();
      this.pc = null;
    }
    if (this.flv) {
      try {
        this.flv.pause();
        this.flv.unload();
        this.flv.detachMediaElement();
        this.flv.destroy();
      } catch {
        /* already gone */
      }
      this.flv = null;
    }
    this.video.srcObject = null;
    this.video.removeAttribute('src');
    this.transport = null;
    this.connectionLost = false;
    this.video.dataset.transport = '';
    this.lastFrames = 0;
    this.lastFrameAt = 0;
    this.lastBytes = 0;
    this.lastBytesAt = 0;
    this.fpsFrames = 0;
    this.fpsAt = 0;
    this.metricsCache = this.emptyMetrics();
  }

  // startWebRTC returns 'ok', 'offline' (not live), 'denied' (the ticket was
  // refused) or a reason to fall back.
  private async startWebRTC(gen: number): Promise<string> {
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    this.pc = pc;
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    const stream = new MediaStream();
    pc.ontrack = (e) => {
      stream.addTrack(e.track);
      if (this.video.srcObject !== stream) this.video.srcObject = stream;
      this.video.play().catch(() => {});
    };
    try {
      this.session = await negotiate(pc, `/whep/${encodeURIComponent(this.gigId)}${this.query(false)}`, this.credential || undefined);
    } catch (err) {
      if (gen !== this.gen) return 'stale';
      pc.close();
      this.pc = null;
      if (err instanceof SignalError) {
        if (err.status === 404) {
          // Not live over WebRTC. Twice in a row while the page believes the
          // show is live: try HTTP-FLV, which may have it (or say so too).
          if (++this.whepMisses < 2) {
            this.setState('offline', 'Waiting for the creator to go live…');
            return 'offline';
          }
          return 'The show is not available over WebRTC.';
        }
        if (err.status === 401 || err.status === 403) {
          this.setState('error', err.message);
          this.ev.onDenied?.(err.code || 'unauthorized', err.message);
          return 'denied';
        }
        if ([409, 415, 422, 501].includes(err.status)) {
          // The server says this stream cannot play over WebRTC: stop trying it.
          this.webrtcRefused = true;
          return `WebRTC unavailable for this stream: ${err.message}`;
        }
        return `WebRTC signalling failed: ${err.message}`;
      }
      return 'WebRTC is not available in this browser.';
    }
    if (gen !== this.gen) return 'stale';
    this.whepMisses = 0;
    this.transport = 'webrtc';
    this.video.dataset.transport = 'webrtc';
    this.ev.onTransport('webrtc', '');

    // Wait for the first decoded frame; give up on WebRTC if none comes.
    const ok = await new Promise<boolean>((resolve) => {
      const started = Date.now();
      const t = window.setInterval(async () => {
        if (gen !== this.gen) {
          clearInterval(t);
          return resolve(false);
        }
        const m = await this.collect();
        if (m.framesDecoded > 0) {
          clearInterval(t);
          resolve(true);
        } else if (pc.connectionState === 'failed' || Date.now() - started > firstFrameTimeoutMs) {
          clearInterval(t);
          resolve(false);
        }
      }, 250);
      this.timers.push(t);
    });
    if (gen !== this.gen) return 'stale';
    if (!ok) {
      this.teardown();
      return pc.connectionState === 'failed' ? 'WebRTC could not connect (network).' : 'No video arrived over WebRTC.';
    }
    this.setState('playing', '');
    pc.onconnectionstatechange = () => {
      if (gen !== this.gen) return;
      const st = pc.connectionState;
      if (st === 'failed' || st === 'closed' || st === 'disconnected') {
        this.connectionLost = true;
        this.setState('stalled', 'Connection lost. Reconnecting…');
        if (st !== 'closed') void this.checkNode(gen);
      }
    };
    this.watch(gen);
    return 'ok';
  }

  private async startFLV(gen: number): Promise<void> {
    const mod = await import('mpegts.js');
    if (gen !== this.gen) return;
    const mpegts = mod.default;
    if (!mpegts.getFeatureList().mseLivePlayback) {
      this.setState('error', 'This browser can play neither WebRTC nor HTTP-FLV (Media Source Extensions).');
      return;
    }
    mpegts.LoggingControl.applyConfig({ enableAll: false, enableError: false, enableWarn: false });
    const url = new URL(`/live/${encodeURIComponent(this.gigId)}.flv${this.query(true)}`, location.href).href;
    const p = mpegts.createPlayer(
      { type: 'flv', isLive: true, url, hasAudio: true, hasVideo: true },
      {
        enableWorker: false,
        enableStashBuffer: false,
        stashInitialSize: 128 * 1024,
        isLive: true,
        lazyLoad: false,
        autoCleanupSourceBuffer: true,
        liveBufferLatencyChasing: true,
        liveBufferLatencyMaxLatency: 1.5,
        liveBufferLatencyMinRemain: 0.3,
      },
    );
    this.flv = p;
    this.transport = 'flv';
    this.video.dataset.transport = 'flv';
    this.ev.onTransport('flv', '');
    const lost = (why: string) => {
      if (gen !== this.gen) return;
      // The HTTP response is over: only a restart brings the show back,
      // whatever frames the buffer still has to play.
      this.connectionLost = true;
      this.setState('stalled', why);
    };
    p.on(mpegts.Events.ERROR, (type: string, detail: string) => {
      if (gen !== this.gen) return;
      if (type === mpegts.ErrorTypes.NETWORK_ERROR && detail === mpegts.ErrorDetails.NETWORK_STATUS_CODE_INVALID) {
        // Not live here either: next time start with WebRTC again.
        this.whepMisses = 0;
        this.setState('offline', 'Waiting for the creator to go live…');
      } else {
        lost('Connection lost. Reconnecting…');
      }
    });
    p.on(mpegts.Events.LOADING_COMPLETE, () => lost('The stream stopped. Waiting for the creator…'));
    p.attachMediaElement(this.video);
    p.load();
    try {
      await p.play();
    } catch {
      /* autoplay refusal is handled by the page's unmute/play button */
    }
    const started = Date.now();
    const t = window.setInterval(async () => {
      if (gen !== this.gen) return clearInterval(t);
      const m = await this.collect();
      if (m.framesDecoded > 0 && this.state === 'connecting') this.setState('playing', '');
      if (this.state === 'connecting' && Date.now() - started > 15000) lost('No video yet. Retrying…');
    }, 500);
    this.timers.push(t);
    this.watch(gen);
  }

  // watch notices frozen playback (the creator's encoder dropped, or the
  // node serving us died: checkNode tells them apart).
  private watch(gen: number): void {
    let quiet = false;
    let checked = false;
    const t = window.setInterval(async () => {
      if (gen !== this.gen) return clearInterval(t);
      const m = await this.collect();
      const now = Date.now();
      const since = now - this.lastFrameAt;
      if (m.framesDecoded !== this.lastFrames) {
        this.lastFrames = m.framesDecoded;
        this.lastFrameAt = now;
        quiet = false;
        checked = false;
        if (this.state === 'stalled' && !this.connectionLost) this.setState('playing', '');
        return;
      }
      if (!this.lastFrameAt || this.state !== 'playing') return;
      if (!checked && this.transport === 'webrtc' && since > nodeCheckMs) {
        checked = true;
        void this.checkNode(gen);
      }
      if (since > stallMs) {
        this.setState('stalled', 'The creator’s stream paused. It resumes here by itself.');
      } else if (!quiet && since > quietMs) {
        quiet = true;
        this.ev.onQuiet?.();
      }
    }, 500);
    this.timers.push(t);
  }

  // checkNode runs when a WebRTC session goes quiet or loses its
  // connection: if the node that served it is gone (a cluster node died),
  // offer again at once. Behind a load balancer, or from the full node
  // that steered us, the new offer reaches a node that is up and relays
  // the show. A session the server ended on purpose (ticket revoked, or
  // watching elsewhere) said goodbye over DTLS: that is left to the page.
  // A creator's pause leaves the session in place (PATCH answers 415).
  private async checkNode(gen: number): Promise<void> {
    const pc = this.pc;
    const loc = this.session?.location;
    if (!pc || !loc || this.checking) return;
    const dtls = pc.getReceivers()[0]?.transport?.state;
    if (dtls === 'closed') return;
    this.checking = true;
    let gone = false;
    try {
      const res = await fetch(loc, { method: 'PATCH', cache: 'no-store' });
      gone = res.status !== 415;
    } catch {
      gone = true;
    } finally {
      this.checking = false;
    }
    if (gone && gen === this.gen && pc.getReceivers()[0]?.transport?.state !== 'closed') {
      void this.start();
    }
  }

  metrics(): PlayerMetrics {
    return this.metricsCache;
  }

  // collect refreshes metrics from getStats (WebRTC) or the media element.
  async collect(): Promise<PlayerMetrics> {
    const m: PlayerMetrics = { ...this.emptyMetrics(), transport: this.transport, state: this.state };
    if (this.transport === 'webrtc' && this.pc) {
      const stats = await this.pc.getStats();
      let rtt: number | null = null;
      let jitterDelay: number | null = null;
      let bytes = 0;
      stats.forEach((s: any) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') {
          m.framesDecoded = s.framesDecoded || 0;
          m.width = s.frameWidth || 0;
          m.height = s.frameHeight || 0;
          m.fps = s.framesPerSecond || 0;
          bytes += s.bytesReceived || 0;
          if (s.jitterBufferEmittedCount) jitterDelay = s.jitterBufferDelay / s.jitterBufferEmittedCount;
        } else if (s.type === 'inbound-rtp' && s.kind === 'audio') {
          m.audioEnergy = s.totalAudioEnergy || 0;
          bytes += s.bytesReceived || 0;
        } else if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded' && typeof s.currentRoundTripTime === 'number') {
          rtt = s.currentRoundTripTime;
        }
      });
      // Glass-to-glass is more than this (encoder, server), but jitter
      // buffer + half the round trip is what the viewer's side adds.
      if (jitterDelay !== null) m.latencyMs = Math.round((jitterDelay + (rtt ?? 0) / 2) * 1000 + 30);
      this.rate(m, bytes);
    } else if (this.transport === 'flv') {
      const v = this.video as any;
      const q = this.video.getVideoPlaybackQuality?.();
      m.framesDecoded = q ? q.totalVideoFrames - q.droppedVideoFrames : v.webkitDecodedFrameCount || 0;
      m.audioEnergy = v.webkitAudioDecodedByteCount || 0;
      m.width = this.video.videoWidth;
      m.height = this.video.videoHeight;
      const b = this.video.buffered;
      if (b.length) m.latencyMs = Math.round(Math.max(0, b.end(b.length - 1) - this.video.currentTime) * 1000 + 150);
      // mpegts.js reports its download speed in KB/s.
      const speed = this.flv?.statisticsInfo?.speed || 0;
      m.fps = this.flvFps(m.framesDecoded);
      m.bitrateKbps = Math.round(speed * 8);
    }
    this.metricsCache = m;
    return m;
  }

  // rate turns a byte counter into kbit/s over windows of about a second.
  private rate(m: PlayerMetrics, bytes: number): void {
    const now = performance.now();
    if (!this.lastBytesAt || bytes < this.lastBytes) {
      this.lastBytes = bytes;
      this.lastBytesAt = now;
      return;
    }
    const dt = (now - this.lastBytesAt) / 1000;
    if (dt >= 0.9) {
      m.bitrateKbps = Math.round(((bytes - this.lastBytes) * 8) / dt / 1000);
      this.lastBytes = bytes;
      this.lastBytesAt = now;
    } else {
      m.bitrateKbps = this.metricsCache.bitrateKbps;
    }
  }

  // flvFps measures decoded frames per second from the element's counters.
  private flvFps(frames: number): number {
    const now = performance.now();
    if (!this.fpsAt || frames < this.fpsFrames) {
      this.fpsAt = now;
      this.fpsFrames = frames;
      return 0;
    }
    const dt = (now - this.fpsAt) / 1000;
    if (dt < 0.9) return this.metricsCache.fps;
    const fps = Math.round((frames - this.fpsFrames) / dt);
    this.fpsAt = now;
    this.fpsFrames = frames;
    return fps;
  }

  private setState(s: PlayerState, detail: string): void {
    this.state = s;
    this.video.dataset.state = s;
    this.ev.onState(s, detail);
  }

  private emptyMetrics(): PlayerMetrics {
    return { transport: null, state: this.state ?? 'idle', framesDecoded: 0, audioEnergy: 0, latencyMs: null, width: 0, height: 0, fps: 0, bitrateKbps: 0 };
  }
}
