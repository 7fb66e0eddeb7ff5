// The talk page's UI: one button to talk, the agent's state and voice, captions, the last turn's figures, and a clear
// message for every failure. Settings come from the query string: ?room=talk-… joins a given room, ?agentWaitS=N
// changes how long the page waits for the agent (20 s by default).
import { ConnectionState, LogLevel, Room, setLogLevel } from 'livekit-client';
import { CaptionList } from './captions.ts';
import { TalkSession, type AgentState } from './session.ts';
import type { TurnMetrics } from './turn-metrics.ts';
import { Visualiser } from './visualiser.ts';

// The library's own info chatter stays out of the console; its warnings and errors stay in.
setLogLevel(LogLevel.warn);

const DEFAULT_AGENT_WAIT_S = 20;

function element<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the talk page is missing #${id}`);
  return el as T;
}

const ui = {
  connection: element<HTMLParagraphElement>('connection'),
  agentState: element<HTMLParagraphElement>('agent-state'),
  message: element<HTMLParagraphElement>('message'),
  talk: element<HTMLButtonElement>('talk'),
  mute: element<HTMLButtonElement>('mute'),
  hangup: element<HTMLButtonElement>('hangup'),
  microphone: element<HTMLSelectElement>('microphone'),
  turn: element<HTMLDListElement>('turn'),
};
const captions = new CaptionList(element<HTMLOListElement>('captions'));
const visualiser = new Visualiser(element<HTMLCanvasElement>('visualiser'));

const STATE_TEXT: Record<AgentState, string> = {
  absent: 'The agent is not here yet',
  initializing: 'The agent is getting ready…',
  listening: 'Listening',
  thinking: 'Thinking…',
  speaking: 'Speaking',
};

const CONNECTION_TEXT: Record<ConnectionState, string> = {
  [ConnectionState.Disconnected]: 'Not connected',
  [ConnectionState.Connecting]: 'Connecting…',
  [ConnectionState.Connected]: 'Connected',
  [ConnectionState.Reconnecting]: 'Reconnecting…',
  [ConnectionState.SignalReconnecting]: 'Reconnecting…',
};

let session: TalkSession | undefined;

function showMessage(text: string | undefined): void {
  ui.message.hidden = text === undefined;
  ui.message.textContent = text ?? '';
}

function setConnection(state: ConnectionState | 'failed'): void {
  ui.connection.dataset['state'] = state;
  ui.connection.textContent = state === 'failed' ? 'Call failed' : CONNECTION_TEXT[state];
}

function setInCall(inCall: boolean): void {
  ui.talk.disabled = inCall;
  ui.hangup.disabled = !inCall;
  ui.mute.disabled = !inCall;
  if (!inCall) {
    ui.mute.setAttribute('aria-pressed', 'false');
    ui.mute.textContent = 'Mute';
  }
}

function showAgentState(state: AgentState): void {
  ui.agentState.dataset['state'] = state;
  ui.agentState.textContent = STATE_TEXT[state];
}

function showTurn(m: TurnMetrics): void {
  const text = (id: string, value: string, failover = false) => {
    const dd = element<HTMLElement>(id);
    dd.textContent = value;
    dd.classList.toggle('failover', failover);
  };
  ui.turn.dataset['turn'] = String(m.turn);
  text('turn-delay', m.responseDelayMs === undefined ? 'no answer' : `${m.responseDelayMs} ms${m.interrupted ? ' (interrupted)' : ''}`);
  text('turn-stt', m.providers.stt ?? '–');
  text('turn-llm', m.providers.llm ?? '–');
  text('turn-tts', m.providers.tts ?? '–');
  text('turn-failovers', String(m.failovers), m.failovers > 0);
}

/** Labels appear only once the microphone is allowed; until then the list holds the default entry. */
async function listMicrophones(): Promise<void> {
  const devices = await Room.getLocalDevices('audioinput', false).catch(() => []);
  const chosen = ui.microphone.value;
  const options = devices
    .filter((d) => d.deviceId)
    .map((d, i) => new Option(d.label || `Microphone ${i + 1}`, d.deviceId, false, d.deviceId === chosen));
  if (options.length === 0) options.push(new Option('Default microphone', ''));
  ui.microphone.replaceChildren(...options);
  ui.microphone.disabled = false;
}

async function talk(): Promise<void> {
  showMessage(undefined);
  captions.clear();
  setInCall(true);
  setConnection(ConnectionState.Connecting);
  visualiser.prepare();
  const query = new URLSearchParams(location.search);
  const agentWaitS = Number(query.get('agentWaitS') ?? DEFAULT_AGENT_WAIT_S);
  const current = new TalkSession(
    {
      origin: location.origin,
      ...(query.get('room') ? { room: query.get('room')! } : {}),
      ...(ui.microphone.value ? { microphoneId: ui.microphone.value } : {}),
      agentWaitMs: (Number.isFinite(agentWaitS) && agentWaitS > 0 ? agentWaitS : DEFAULT_AGENT_WAIT_S) * 1000,
    },
    {
      connection: (state) => session === current && setConnection(state),
      agentState: showAgentState,
      caption: (c) => captions.update(c),
      turn: showTurn,
      agentAudio: (track) => (track ? visualiser.attach(track) : visualiser.detach()),
      ended: (failure) => {
        if (session !== current) return;
        session = undefined;
        setInCall(false);
        setConnection(failure ? 'failed' : ConnectionState.Disconnected);
        showMessage(failure?.message);
        ui.talk.focus();
      },
    },
  );
  session = current;
  // Playback must be unlocked inside the click that started the call.
  void current.room.startAudio().catch(() => undefined);
  try {
    await current.start();
    document.body.dataset['room'] = current.joined?.room ?? '';
    await listMicrophones();
    ui.hangup.focus();
  } catch {
    // Already shown through `ended`.
  }
}

ui.talk.addEventListener('click', () => void talk());
ui.hangup.addEventListener('click', () => void session?.hangUp());
ui.mute.addEventListener('click', () => {
  const muted = ui.mute.getAttribute('aria-pressed') !== 'true';
  ui.mute.setAttribute('aria-pressed', String(muted));
  ui.mute.textContent = muted ? 'Unmute' : 'Mute';
  void session?.setMuted(muted);
});
ui.microphone.addEventListener('change', () => {
  void session?.switchMicrophone(ui.microphone.value).catch((error: unknown) => {
    showMessage(`Could not switch to that microphone: ${error instanceof Error ? error.message : String(error)}`);
  });
});
navigator.mediaDevices?.addEventListener('devicechange', () => void listMicrophones());
// Escape hangs up from anywhere on the page, as a call button would.
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && session) void session.hangUp();
});
if (!window.isSecureContext || !navigator.mediaDevices) {
  showMessage('This page needs a secure origin (https:// or http://127.0.0.1) for the microphone.');
  ui.talk.disabled = true;
}
void listMicrophones();
