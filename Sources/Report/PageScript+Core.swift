/// The page's script, in plain JavaScript (no library, no network): split
/// by part across these files, joined in order into one inline script.
enum PageScript {
    static var all: String { [core, timeline, charts, exchanges, detail, replay, start].joined(separator: "\n") }

    static let core = #"""
    "use strict";
    const COLORS = __COLORS__;
    let D = JSON.parse(document.getElementById("report-data").textContent);
    const R = { view: null, sessionRows: null, exchangeSort: { key: "at", dir: 1 }, selected: null };
    window.tapedeckReport = R;

    function $(id) { return document.getElementById(id); }
    function el(tag, attrs, text) {
      const node = document.createElement(tag);
      if (attrs) for (const k in attrs) node.setAttribute(k, attrs[k]);
      if (text !== undefined) node.textContent = text;
      return node;
    }
    function fmtBytes(n) {
      if (n < 1024) return n + " B";
      const units = ["KiB", "MiB", "GiB", "TiB"]; let v = n / 1024, i = 0;
      while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
      return v.toFixed(v < 10 ? 1 : 0) + " " + units[i];
    }
    function fmtDur(us) {
      if (us < 0) return "—";
      if (us < 1000) return us + " µs";
      if (us < 1e6) return (us / 1000).toFixed(us < 1e4 ? 2 : 1) + " ms";
      if (us < 6e7) return (us / 1e6).toFixed(us < 1e7 ? 2 : 1) + " s";
      const s = Math.round(us / 1e6); return Math.floor(s / 60) + " min " + (s % 60) + " s";
    }
    function fmtAt(us) {
      const ms = D.origin_ns / 1e6 + us / 1000;
      const d = new Date(ms);
      return d.toISOString().slice(11, 23);
    }
    function canvasContext(canvas, cssHeight) {
      const ratio = window.devicePixelRatio || 1;
      const width = canvas.clientWidth || canvas.parentNode.clientWidth || 800;
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(cssHeight * ratio);
      canvas.style.height = cssHeight + "px";
      const ctx = canvas.getContext("2d");
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      return { ctx, width, height: cssHeight };
    }
    function b64bytes(text) {
      const raw = atob(text); const out = new Uint8Array(raw.length);
      for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
      return out;
    }
    function sessionPosition(index) {
      if (!R.positions) {
        R.positions = new Map();
        D.sessions.index.forEach((value, i) => R.positions.set(value, i));
      }
      return R.positions.get(index);
    }
    function sessionLink(index) {
      const a = el("a", { class: "session-link", "data-session": index }, "#" + index);
      a.addEventListener("click", () => showSession(index));
      return a;
    }
    function describeSession(i) {
      const s = D.sessions;
      const lines = ["session #" + s.index[i] + " · " + s.end[i].toUpperCase().replace("MID", "started mid-flow").replace("OPEN", "still open"),
        s.endpoints[s.client[i]] + " → " + s.endpoints[s.server[i]],
        "client → server " + fmtBytes(s.c2s[i]) + " · server → client " + fmtBytes(s.s2c[i]) + (s.gap[i] ? " · lost " + fmtBytes(s.gap[i]) : ""),
        "opened " + fmtAt(s.start[i]) + " · lasted " + fmtDur(s.duration[i]) + (s.proto[i] >= 0 ? " · " + s.proto_names[s.proto[i]] : "")];
      const faults = s.faults[String(s.index[i])];
      if (faults) lines.push("faults: " + faults.join(", "));
      return lines.join("\n");
    }
    """#
}
