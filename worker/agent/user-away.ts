// A caller who has gone quiet: after `checkInMs` of silence the agent checks in once ("Are you still there?"); after
// a further `goodbyeMs` with no word from them it says goodbye, and `gone` settles, which ends the session (the
// launched worker shuts down with reason 'user_away', the console run ends). Any caller speech starts it over. Each
// step waits for the agent to be quiet and listening: the timer runs from the moment it started listening again.
import type { EngineClock } from './clock.ts';

export interface UserAwayOptions {
  clock: EngineClock;
  /** Silence before the check-in (0: no check-in; the goodbye then follows `goodbyeMs` of silence alone). */
  checkInMs: number;
  checkInText: string;
  /** Silence after the check-in before the goodbye (0: never say goodbye, never end the session for it). */
  goodbyeMs: number;
  goodbyeText: string;
  /** Nothing is being said, heard or prepared: the agent may speak up. */
  quiet(): boolean;
  /** Says a fixed line (one that gives way to the caller at once); settles once it has played or was cut. */
  say(text: string): Promise<void>;
  log: { info(obj: object, msg?: string): void };
}

/** How soon a step that found the agent busy looks again. */
const RETRY_MS = 500;

type Step = 'check_in' | 'goodbye' | 'done';

export class UserAway {
  readonly #o: UserAwayOptions;
  /** Settles once the goodbye has been said: the session is over. */
  readonly gone: Promise<void>;
  #leave: () => void = () => undefined;
  #step: Step;
  #timer: { cancel(): void } | undefined;
  /** Bumped by caller speech: a line said for an older silence does not move the steps on. */
  #generation = 0;

  constructor(options: UserAwayOptions) {
    this.#o = options;
    this.#step = this.#first();
    this.gone = new Promise((resolve) => (this.#leave = resolve));
  }

  /** The agent is listening again (it finished speaking, or the conversation started): the silence counts from now. */
  listening(): void {
    this.#timer?.cancel();
    const waitMs = this.#step === 'check_in' ? this.#o.checkInMs : this.#step === 'goodbye' ? this.#o.goodbyeMs : 0;
    if (waitMs <= 0) return;
    const generation = this.#generation;
    this.#timer = this.#o.clock.setTimer(waitMs, () => void this.#act(generation));
  }

  /** The caller spoke: they are here; the next check-in is a whole silence away. */
  callerSpoke(): void {
    this.#timer?.cancel();
    this.#generation++;
    if (this.#step !== 'done') this.#step = this.#first();
  }

  stop(): void {
    this.#timer?.cancel();
    this.#generation++;
    this.#step = 'done';
  }

  #first(): Step {
    if (this.#o.checkInMs > 0) return 'check_in';
    return this.#o.goodbyeMs > 0 ? 'goodbye' : 'done';
  }

  async #act(generation: number): Promise<void> {
    if (generation !== this.#generation) return;
    // Something is still being said, heard or finished off (a flush in the background): look again shortly.
    if (!this.#o.quiet()) {
      this.#timer = this.#o.clock.setTimer(RETRY_MS, () => void this.#act(generation));
      return;
    }
    const step = this.#step;
    if (step === 'check_in') {
      this.#step = this.#o.goodbyeMs > 0 ? 'goodbye' : 'done';
      await this.#o.say(this.#o.checkInText);
      return;
    }
    if (step !== 'goodbye') return;
    await this.#o.say(this.#o.goodbyeText);
    // The caller spoke over the goodbye: they are there after all, and the conversation goes on.
    if (generation !== this.#generation) return;
    this.stop();
    this.#o.log.info({ event: 'user_away' }, 'the caller has been silent: goodbye said, the session ends');
    this.#leave();
  }
}
