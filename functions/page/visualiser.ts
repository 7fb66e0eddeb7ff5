// The agent's voice as bars on a canvas, from an AnalyserNode on the remote track. It also keeps how much audible
// sound it has heard (data-heard-ms on the canvas), measured on a timer so it holds in a background tab too.
const SAMPLE_EVERY_MS = 50;
/** RMS of the time-domain signal (0..1) above which the agent is audibly speaking; silence and comfort noise sit far below. */
const AUDIBLE_RMS = 0.01;

export class Visualiser {
  readonly #canvas: HTMLCanvasElement;
  #context: AudioContext | undefined;
  #analyser: AnalyserNode | undefined;
  #source: MediaStreamAudioSourceNode | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #frame = 0;
  #heardMs = 0;

  constructor(canvas: HTMLCanvasElement) {
    this.#canvas = canvas;
    this.#draw(new Uint8Array(0));
  }

  /** Must run inside a user gesture (the Talk click) so the browser lets the context run. */
  prepare(): void {
    this.#context ??= new AudioContext();
    void this.#context.resume();
  }

  attach(track: MediaStreamTrack): void {
    this.detach();
    const context = (this.#context ??= new AudioContext());
    this.#analyser = context.createAnalyser();
    this.#analyser.fftSize = 512;
    this.#source = context.createMediaStreamSource(new MediaStream([track]));
    this.#source.connect(this.#analyser);
    const samples = new Float32Array(this.#analyser.fftSize);
    this.#timer = setInterval(() => {
      if (!this.#analyser) return;
      this.#analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      const rms = Math.sqrt(sum / samples.length);
      if (rms > AUDIBLE_RMS) this.#heardMs += SAMPLE_EVERY_MS;
      this.#canvas.dataset['level'] = rms.toFixed(4);
      this.#canvas.dataset['heardMs'] = String(this.#heardMs);
    }, SAMPLE_EVERY_MS);
    const loop = () => {
      if (!this.#analyser) return;
      const bins = new Uint8Array(this.#analyser.frequencyBinCount);
      this.#analyser.getByteFrequencyData(bins);
      this.#draw(bins);
      this.#frame = requestAnimationFrame(loop);
    };
    this.#frame = requestAnimationFrame(loop);
  }

  detach(): void {
    clearInterval(this.#timer);
    cancelAnimationFrame(this.#frame);
    this.#source?.disconnect();
    this.#source = undefined;
    this.#analyser = undefined;
    this.#canvas.dataset['level'] = '0';
    this.#draw(new Uint8Array(0));
  }

  #draw(bins: Uint8Array): void {
    const g = this.#canvas.getContext('2d');
    if (!g) return;
    const { width, height } = this.#canvas;
    g.clearRect(0, 0, width, height);
    const bars = 24;
    const gap = 4;
    const barWidth = (width - gap * (bars - 1)) / bars;
    g.fillStyle = getComputedStyle(this.#canvas).getPropertyValue('--accent') || '#2357d8';
    // Speech lives in the lower bins: spread the first third of the spectrum over the bars.
    const span = Math.max(1, Math.floor(bins.length / 3 / bars));
    for (let i = 0; i < bars; i++) {
      let v = 0;
      for (let j = 0; j < span; j++) v = Math.max(v, bins[i * span + j] ?? 0);
      const h = Math.max(4, (v / 255) * height);
      g.fillRect(i * (barWidth + gap), (height - h) / 2, barWidth, h);
    }
  }
}
