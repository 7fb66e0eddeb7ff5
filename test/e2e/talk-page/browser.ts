// Debian's Chromium under playwright-core for the talk page: headless, off the network, WebRTC on loopback, and a fake
// microphone that plays a WAV (Chromium loops the file). Console errors and page errors are collected for the tests.
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** `acceptPrompts: false` leaves permission prompts to the page's context (headless: denied unless granted). */
export async function launchChromium(micWav: string, options: { acceptPrompts?: boolean } = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
      '--use-fake-device-for-media-stream',
      ...(options.acceptPrompts === false ? [] : ['--use-fake-ui-for-media-stream']),
      `--use-file-for-fake-audio-capture=${micWav}`,
      // Host candidates as real loopback addresses, not mDNS names nobody here can resolve.
      '--disable-features=WebRtcHideLocalIpsWithMdns',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
}

export interface TalkPage {
  context: BrowserContext;
  page: Page;
  /** console.error lines and uncaught page errors, in order. */
  errors: string[];
  close(): Promise<void>;
}

/** A phone-sized page on `url` with the microphone allowed for that origin. */
export async function openTalkPage(browser: Browser, url: string): Promise<TalkPage> {
  const context = await browser.newContext({ viewport: { width: 412, height: 915 }, deviceScaleFactor: 1, hasTouch: true });
  await context.grantPermissions(['microphone'], { origin: new URL(url).origin });
  await trackPeerConnections(context);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  await page.goto(url);
  return { context, page, errors, close: () => context.close() };
}

/** Everything a test reads off the page, in one evaluate. */
export interface PageView {
  connection: string;
  agentState: string;
  message: string | null;
  room: string;
  captions: { speaker: string; text: string; final: boolean; segment: string }[];
  heardMs: number;
  turn: string;
  delay: string;
  providers: string[];
}

export function readPage(page: Page): Promise<PageView> {
  return page.evaluate(() => {
    const text = (id: string) => document.getElementById(id)?.textContent ?? '';
    const message = document.getElementById('message')!;
    return {
      connection: document.getElementById('connection')!.dataset['state'] ?? '',
      agentState: document.getElementById('agent-state')!.dataset['state'] ?? '',
      message: message.hidden ? null : message.textContent,
      room: document.body.dataset['room'] ?? '',
      captions: [...document.querySelectorAll<HTMLLIElement>('#captions li')].map((li) => ({
        speaker: li.dataset['speaker'] ?? '',
        text: li.lastElementChild?.textContent ?? '',
        final: li.dataset['final'] === 'true',
        segment: li.dataset['segment'] ?? '',
      })),
      heardMs: Number(document.getElementById('visualiser')!.dataset['heardMs'] ?? 0),
      turn: document.getElementById('turn')!.dataset['turn'] ?? '',
      delay: text('turn-delay'),
      providers: [text('turn-stt'), text('turn-llm'), text('turn-tts')],
    };
  });
}

/** The page's inbound audio as WebRTC counts it: inbound-rtp audio totalAudioEnergy over every peer connection. */
export function inboundAudioEnergy(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const pcs = (window as unknown as { __testPeerConnections?: RTCPeerConnection[] }).__testPeerConnections ?? [];
    let energy = 0;
    for (const pc of pcs) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach((s: { type: string; kind?: string; totalAudioEnergy?: number }) => {
        if (s.type === 'inbound-rtp' && s.kind === 'audio') energy += s.totalAudioEnergy ?? 0;
      });
    }
    return energy;
  });
}

/** Test instrumentation only: keeps every RTCPeerConnection the page creates, so getStats can be read from outside. */
export async function trackPeerConnections(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const Original = window.RTCPeerConnection;
    const kept: RTCPeerConnection[] = [];
    (window as unknown as { __testPeerConnections: RTCPeerConnection[] }).__testPeerConnections = kept;
    window.RTCPeerConnection = class extends Original {
      constructor(config?: RTCConfiguration) {
        super(config);
        kept.push(this);
      }
    } as typeof RTCPeerConnection;
  });
}
