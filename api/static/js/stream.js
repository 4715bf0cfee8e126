// The live stream: one WebSocket, authenticated by the session cookie, that reconnects by itself
// with capped full-jitter backoff and resumes after the last alert it saw (?after=<id>&since=<its
// updated_at>: an alert id is not a secret), so what happened while it was cut arrives on
// reconnection; the server says {"kind": "ready"} once caught up, and only then is it "live".

const BASE_S = 0.5;
const CAP_S = 10;

export class Stream {
  /**
   * @param {object} handlers onMessage(msg), onState("connecting"|"live"|"reconnecting"|"offline"),
   *   onDenied(code) when a connection closes without having opened, or is refused.
   */
  constructor(handlers) {
    this.handlers = handlers;
    this.lastAlert = null;
    this.lastChange = null; // the updated_at of that alert as last seen: exact catch-up
    this.ws = null;
    this.attempt = 0;
    this.timer = null;
    this.stopped = true;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close(1000, "logout");
    this.ws = null;
  }

  /** Remember the newest alert change seen, from REST as well as from the stream. */
  saw(alert) {
    this.lastAlert = alert.id;
    this.lastChange = alert.updated_at ?? null;
  }

  url() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const q = new URLSearchParams();
    if (this.lastAlert) q.set("after", this.lastAlert);
    if (this.lastAlert && this.lastChange) q.set("since", this.lastChange);
    const after = q.size ? `?${q}` : "";
    return `${scheme}://${location.host}/api/v1/stream${after}`;
  }

  connect() {
    if (this.stopped) return;
    this.handlers.onState(this.attempt === 0 ? "connecting" : "reconnecting");
    const ws = new WebSocket(this.url());
    this.ws = ws;
    let opened = false;
    ws.addEventListener("open", () => {
      if (this.ws !== ws) return;
      opened = true;
      this.attempt = 0;
      if (!this.lastAlert) ws.send(JSON.stringify({ after: null })); // nothing to resume from
    });
    ws.addEventListener("message", (ev) => {
      if (this.ws !== ws) return;
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (msg.kind === "alert" && msg.alert?.id) this.saw(msg.alert);
      // Live once the server has sent what was missed.
      if (msg.kind === "ready") this.handlers.onState("live");
      else this.handlers.onMessage(msg);
    });
    ws.addEventListener("close", (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      if (!opened || ev.code === 4401 || ev.code === 4403 || ev.code === 1008) {
        // Refused (a browser sees a refused handshake as 1006) or down: the page asks whether
        // the session still holds; meanwhile keep trying, more slowly.
        this.handlers.onState("offline");
        this.handlers.onDenied(ev.code);
        this.attempt = Math.max(this.attempt, 2);
      } else {
        this.handlers.onState("reconnecting");
      }
      this.retry();
    });
  }

  retry() {
    this.attempt += 1;
    const ceiling = Math.min(CAP_S, BASE_S * 2 ** this.attempt);
    const delay = Math.max(0.2, Math.random() * ceiling);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay * 1000);
  }

  /** Cut the connection now (for tests and for "reconnect" by hand); it comes back by itself. */
  cut() {
    if (this.ws) this.ws.close(4000, "cut");
  }
}
