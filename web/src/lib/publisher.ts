// Browser publisher: camera and microphone over WHIP (RFC 9725). H.264 and
// Opus are preferred so that HTTP-FLV viewers can watch too.
import { negotiate, preferCodec, type Session } from './whip';

export interface Quality {
  label: string;
  width: number;
  height: number;
  fps: number;
  kbps: number;
}

export const qualities: Quality[] = [
  { label: '720p · 30 fps', width: 1280, height: 720, fps: 30, kbps: 2500 },
  { label: '1080p · 30 fps', width: 1920, height: 1080, fps: 30, kbps: 4500 },
  { label: '480p · 30 fps', width: 854, height: 480, fps: 30, kbps: 1200 },
];

export type PublishState = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'error';

export interface PublishStats {
  kbps: number;
  fps: number;
  width: number;
  height: number;
  codec: string;
}

export class Publisher {
  stream: MediaStream | null = null;
  private pc: RTCPeerConnection | null = null;
  private session: Session | null = null;
  private lastBytes = 0;
  private lastAt = 0;
  private lastKbps = 0;

  constructor(private onState: (s: PublishState, detail: string) => void) {}

  get live(): boolean {
    return !!this.pc;
  }

  // capture opens (or re-opens) the camera and microphone. While live the
  // new tracks replace the old ones without renegotiation.
  async capture(videoId: string, audioId: string, q: Quality): Promise<MediaStream> {
    const s = await navigator.mediaDevices.getUserMedia({
      video: {
        deviceId: videoId ? { exact: videoId } : undefined,
        width: { ideal: q.width },
        height: { ideal: q.height },
        frameRate: { ideal: q.fps, max: q.fps },
      },
      audio: {
        deviceId: audioId ? { exact: audioId } : undefined,
        echoCancellation: true,
        noiseSuppression: true,
        autoGainControl: true,
      },
    });
    const old = this.stream;
    this.stream = s;
    if (this.pc) {
      for (const sender of this.pc.getSenders()) {
        const kind = sender.track?.kind;
        const t = kind === 'video' ? s.getVideoTracks()[0] : kind === 'audio' ? s.getAudioTracks()[0] : undefined;
        if (t) await sender.replaceTrack(t);
      }
      await this.setBitrate(q.kbps);
    }
    old?.getTracks().forEach((t) => t.stop());
    return s;
  }

  async start(gigId: string, streamKey: string, q: Quality): Promise<void> {
    if (!this.stream) throw new Error('Turn the camera on first.');
    await this.stopSession();
    this.onState('connecting', 'Connecting…');
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    this.pc = pc;
    const v = this.stream.getVideoTracks()[0];
    const a = this.stream.getAudioTracks()[0];
    if (v) {
      const t = pc.addTransceiver(v, { direction: 'sendonly', streams: [this.stream], sendEncodings: [{ maxBitrate: q.kbps * 1000 }] });
      preferCodec(t, 'video/H264', 'video');
    }
    if (a) {
      const t = pc.addTransceiver(a, { direction: 'sendonly', streams: [this.stream] });
      preferCodec(t, 'audio/opus', 'audio');
    }
    pc.onconnectionstatechange = () => {
      if (this.pc !== pc) return;
      switch (pc.connectionState) {
        case 'connected':
          this.onState('live', '');
          break;
        case 'disconnected':
          this.onState('reconnecting', 'Network trouble: trying to keep the stream going…');
          break;
        case 'failed':
          this.onState('error', 'The connection to the server failed. Press Go live to try again.');
          this.stopSession();
          break;
      }
    };
    try {
      this.session = await negotiate(pc, `/whip/${encodeURIComponent(gigId)}`, streamKey);
    } catch (err) {
      pc.close();
      if (this.pc === pc) this.pc = null;
      throw err;
    }
    await this.setBitrate(q.kbps);
  }

  async stop(): Promise<void> {
    await this.stopSession();
    this.onState('idle', '');
  }

  release(): void {
    this.stopSession();
    this.stream?.getTracks().forEach((t) => t.stop());
    this.stream = null;
  }

  private async stopSession(): Promise<void> {
    const s = this.session;
    this.session = null;
    const pc = this.pc;
    this.pc = null;
    this.lastAt = 0;
    if (pc) {
      pc.onconnectionstatechange = null;
      pc.close();
    }
    if (s) await s.close();
  }

  private async setBitrate(kbps: number): Promise<void> {
    const sender = this.pc?.getSenders().find((s) => s.track?.kind === 'video');
    if (!sender) return;
    const p = sender.getParameters();
    if (!p.encodings || !p.encodings.length) return;
    p.encodings[0].maxBitrate = kbps * 1000;
    try {
      await sender.setParameters(p);
    } catch {
      /* keep the browser's choice */
    }
  }

  async stats(): Promise<PublishStats | null> {
    if (!this.pc) return null;
    const out: PublishStats = { kbps: 0, fps: 0, width: 0, height: 0, codec: '' };
    const r = await this.pc.getStats();
    let bytes = 0;
    let codecId = '';
    r.forEach((s: any) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video') {
        out.fps = Math.round(s.framesPerSecond || 0);
        out.width = s.frameWidth || 0;
        out.height = s.frameHeight || 0;
        codecId = s.codecId || '';
      }
      if (s.type === 'outbound-rtp') bytes += s.bytesSent || 0;
    });
    if (codecId) out.codec = String((r.get(codecId) as any)?.mimeType || '').replace(/^video\//, '');
    const now = performance.now();
    if (this.lastAt && now - this.lastAt >= 900) {
      this.lastKbps = Math.round(((bytes - this.lastBytes) * 8) / ((now - this.lastAt) / 1000) / 1000);
      this.lastBytes = bytes;
      this.lastAt = now;
    } else if (!this.lastAt) {
      this.lastBytes = bytes;
      this.lastAt = now;
    }
    out.kbps = this.lastKbps;
    return out;
  }
}

// devices lists cameras and microphones (labels appear once permission is given).
export async function devices(): Promise<{ video: MediaDeviceInfo[]; audio: MediaDeviceInfo[] }> {
  const all = await navigator.mediaDevices.enumerateDevices();
  return { video: all.filter((d) => d.kind === 'videoinput'), audio: all.filter((d) => d.kind === 'audioinput') };
}
