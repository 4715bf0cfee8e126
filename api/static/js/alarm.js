// The alarm-centre sound: a beep every few seconds while any critical or high alert is not
// acknowledged, drawn with a Web Audio oscillator (no sound file). A mute lasts at most
// MUTE_S seconds, and a new critical or high alert ends it at once.
// document.body.dataset.alarmBeeps counts the beeps played, for tests and for the curious.

const EVERY_MS = 2500;
const MUTE_S = 60;

export class Alarm {
  constructor(onChange) {
    this.onChange = onChange; // called with the alarm's state, to draw the buttons
    this.ctx = null;
    this.ringing = false;
    this.mutedUntil = 0;
    this.timer = null;
    document.body.dataset.alarmBeeps = document.body.dataset.alarmBeeps || "0";
    setInterval(() => this.onChange(this.state()), 1000);
  }

  state() {
    const left = Math.max(0, Math.ceil((this.mutedUntil - Date.now()) / 1000));
    return {
      ringing: this.ringing,
      mutedFor: left,
      needsGesture: this.ringing && this.ctx?.state !== "running",
    };
  }

  /** Create or wake the audio context; browsers allow it after a click or key press. */
  unlock() {
    try {
      this.ctx ??= new AudioContext();
      if (this.ctx.state === "suspended") this.ctx.resume().catch(() => {});
    } catch {
      this.ctx = null;
    }
    this.onChange(this.state());
  }

  /** Ring while `shouldRing`; `fresh` says a new critical or high alert arrived just now. */
  set(shouldRing, fresh = false) {
    if (fresh) this.mutedUntil = 0;
    if (shouldRing === this.ringing && !fresh) return;
    this.ringing = shouldRing;
    clearInterval(this.timer);
    this.timer = null;
    if (shouldRing) {
      this.beep();
      this.timer = setInterval(() => this.beep(), EVERY_MS);
    }
    this.onChange(this.state());
  }

  mute() {
    this.mutedUntil = Date.now() + MUTE_S * 1000;
    this.onChange(this.state());
  }

  beep() {
    if (!this.ringing || Date.now() < this.mutedUntil) return;
    if (!this.ctx) this.unlock();
    const ctx = this.ctx;
    if (!ctx || ctx.state !== "running") {
      this.onChange(this.state());
      return;
    }
    // Two short tones, high then higher: unlike any notification sound of a desktop.
    const start = ctx.currentTime + 0.01;
    for (const [offset, freq] of [
      [0, 880],
      [0.25, 1175],
    ]) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = "square";
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, start + offset);
      gain.gain.exponentialRampToValueAtTime(0.25, start + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.2);
      osc.connect(gain).connect(ctx.destination);
      osc.start(start + offset);
      osc.stop(start + offset + 0.22);
    }
    document.body.dataset.alarmBeeps = String(Number(document.body.dataset.alarmBeeps) + 1);
  }

  stop() {
    this.set(false);
    this.mutedUntil = 0;
  }
}
