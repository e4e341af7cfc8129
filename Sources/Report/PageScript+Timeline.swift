extension PageScript {
    /// The timeline: one bar per session in packed rows, SVG up to
    /// `svgLimit` sessions and a canvas beyond; zoom and pan on time.
    static let timeline = #"""
    const SVG_LIMIT = 2000, MAX_HEIGHT = 520, NS = "http://www.w3.org/2000/svg";
    function fullView() {
      const span = Math.max(D.span_us, 1);
      return { t0: -span * 0.01, t1: span * 1.01 };
    }
    function setupTimeline() {
      const s = D.sessions, n = s.index.length, box = $("timeline");
      box.innerHTML = "";
      const rows = Math.max(s.rows, 1);
      R.rowH = Math.min(16, MAX_HEIGHT / rows);
      R.barH = R.rowH >= 4 ? Math.max(1, R.rowH - 3) : Math.max(1, R.rowH);
      R.height = Math.max(24, Math.ceil(rows * R.rowH) + 4);
      R.mode = n <= SVG_LIMIT ? "svg" : "canvas";
      box.dataset.mode = R.mode;
      box.dataset.bars = String(n);
      box.dataset.rows = String(s.rows);
      R.byRow = [];
      for (let i = 0; i < n; i++) (R.byRow[s.row[i]] = R.byRow[s.row[i]] || []).push(i);
      if (R.mode === "svg") {
        const svg = document.createElementNS(NS, "svg");
        svg.setAttribute("id", "timeline-svg"); svg.setAttribute("height", R.height);
        svg.style.width = "100%";
        R.rects = []; R.marks = [];
        for (let i = 0; i < n; i++) {
          const r = document.createElementNS(NS, "rect");
          r.setAttribute("class", "bar end-" + s.end[i]);
          r.setAttribute("data-session", s.index[i]);
          r.setAttribute("data-end", s.end[i]);
          r.setAttribute("fill", COLORS[s.end[i]]);
          r.setAttribute("y", 2 + s.row[i] * R.rowH);
          r.setAttribute("height", R.barH);
          svg.appendChild(r); R.rects.push(r);
          const faults = s.faults[String(s.index[i])];
          if (faults) {
            const m = document.createElementNS(NS, "path");
            m.setAttribute("class", "fault-mark"); m.setAttribute("data-session", s.index[i]);
            m.setAttribute("fill", "var(--fault)");
            svg.appendChild(m); R.marks.push([m, i]);
          }
        }
        box.appendChild(svg);
      } else {
        const canvas = el("canvas", { id: "timeline-canvas" });
        canvas.style.width = "100%";
        box.appendChild(canvas);
      }
      if (!R.timelineEvents) { wireTimeline(box); R.timelineEvents = true; }
    }
    function xOf(t, width) { return (t - R.view.t0) / (R.view.t1 - R.view.t0) * width; }
    function drawTimeline() {
      const s = D.sessions, n = s.index.length, box = $("timeline");
      const width = box.clientWidth || 800;
      if (R.mode === "svg") {
        for (let i = 0; i < n; i++) {
          const x0 = xOf(s.start[i], width), x1 = xOf(s.start[i] + s.duration[i], width);
          const r = R.rects[i];
          r.setAttribute("x", x0.toFixed(1));
          r.setAttribute("width", Math.max(2, x1 - x0).toFixed(1));
        }
        for (const [m, i] of R.marks) {
          const x = Math.max(xOf(s.start[i] + s.duration[i], width), xOf(s.start[i], width) + 2), y = 2 + s.row[i] * R.rowH;
          m.setAttribute("d", "M" + (x - 5).toFixed(1) + " " + (y - 2) + "h10l-5 " + Math.max(6, R.barH * 0.7).toFixed(1) + "z");
        }
      } else {
        const { ctx } = canvasContext($("timeline-canvas"), R.height);
        const groups = {};
        for (const k in COLORS) groups[k] = [];
        let drawn = 0;
        for (let i = 0; i < n; i++) {
          const x0 = xOf(s.start[i], width), x1 = xOf(s.start[i] + s.duration[i], width);
          if (x1 < 0 || x0 > width) continue;
          groups[s.end[i]].push(i); drawn++;
        }
        for (const kind of ["fin", "mid", "open", "gap", "rst"]) {
          ctx.fillStyle = COLORS[kind];
          for (const i of groups[kind]) {
            const x0 = xOf(s.start[i], width), x1 = xOf(s.start[i] + s.duration[i], width);
            ctx.fillRect(x0, 2 + s.row[i] * R.rowH, Math.max(1, x1 - x0), R.barH);
          }
        }
        ctx.fillStyle = "#111";
        for (const key in s.faults) {
          const i = sessionPosition(Number(key)); if (i === undefined) continue;
          const x = Math.max(xOf(s.start[i] + s.duration[i], width), xOf(s.start[i], width) + 1), y = 2 + s.row[i] * R.rowH;
          if (x < -5 || x > width + 5) continue;
          ctx.beginPath(); ctx.moveTo(x - 4, y - 1); ctx.lineTo(x + 4, y - 1); ctx.lineTo(x, y + Math.max(5, R.barH * 0.7)); ctx.fill();
        }
        box.dataset.drawn = String(drawn);
      }
      drawAxis(width);
      $("view-range").textContent = fmtAt(Math.max(0, R.view.t0)) + " – " + fmtAt(R.view.t1) + " (" + fmtDur(Math.round(R.view.t1 - R.view.t0)) + ")";
    }
    function drawAxis(width) {
      const { ctx } = canvasContext($("axis"), 22);
      const span = R.view.t1 - R.view.t0;
      const steps = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7, 3e7, 6e7, 3e8, 6e8, 1.8e9, 3.6e9, 8.64e10];
      const step = steps.find(v => span / v <= Math.max(2, width / 110)) || 8.64e10;
      ctx.fillStyle = "#667085"; ctx.strokeStyle = "#c9ced6"; ctx.font = "11px system-ui, sans-serif";
      for (let t = Math.ceil(R.view.t0 / step) * step; t <= R.view.t1; t += step) {
        const x = xOf(t, width);
        ctx.beginPath(); ctx.moveTo(x + 0.5, 0); ctx.lineTo(x + 0.5, 5); ctx.stroke();
        ctx.fillText("+" + fmtDur(Math.round(t)), x + 3, 15);
      }
    }
    // Where a session's bar is drawn now, in the window's coordinates (for a click).
    R.barCenter = function (index) {
      const s = D.sessions, i = sessionPosition(index), box = $("timeline");
      if (i === undefined) return null;
      const rect = box.getBoundingClientRect(), width = box.clientWidth;
      const x0 = xOf(s.start[i], width), x1 = Math.max(xOf(s.start[i] + s.duration[i], width), x0 + 2);
      return { x: rect.left + Math.max(0, Math.min(width - 1, (x0 + x1) / 2)), y: rect.top + 2 + s.row[i] * R.rowH + R.barH / 2 };
    };
    // The bar drawn under the pointer, else the nearest within a few pixels.
    // Bars are measured as drawn: a session shorter than a pixel is drawn
    // wider than its time, over its neighbour's start, and where two drawn
    // bars meet the pointer the shorter one wins (the longer one has room
    // elsewhere to be clicked).
    function hitTest(x, y, width) {
      const s = D.sessions, minWidth = R.mode === "svg" ? 2 : 1;
      const first = Math.max(0, Math.floor((y - 2) / R.rowH)), last = Math.floor((y - 2 + 1) / R.rowH);
      let best = -1, bestDistance = Infinity, bestWidth = Infinity;
      for (let row = first; row <= last && row < R.byRow.length; row++) {
        for (const i of R.byRow[row] || []) {
          const x0 = xOf(s.start[i], width), x1 = Math.max(xOf(s.start[i] + s.duration[i], width), x0 + minWidth);
          const distance = x < x0 ? x0 - x : x > x1 ? x - x1 : 0, drawn = x1 - x0;
          if (distance > 3) continue;
          if (distance < bestDistance || (distance === bestDistance && drawn < bestWidth)) {
            best = i; bestDistance = distance; bestWidth = drawn;
          }
        }
      }
      return best;
    }
    function sessionAtEvent(event) {
      const box = $("timeline"), rect = box.getBoundingClientRect();
      const i = hitTest(event.clientX - rect.left, event.clientY - rect.top, box.clientWidth);
      if (i >= 0) return i;
      // a fault mark stands above its bar's row
      const target = event.target;
      if (target && target.getAttribute && target.getAttribute("data-session") !== null && target.tagName !== "DIV") {
        return sessionPosition(Number(target.getAttribute("data-session")));
      }
      return undefined;
    }
    function zoom(factor, centerFraction) {
      const v = R.view, span = v.t1 - v.t0, c = v.t0 + span * centerFraction;
      const next = Math.max(span * factor, 1);
      R.view = { t0: c - next * centerFraction, t1: c + next * (1 - centerFraction) };
      redrawView();
    }
    function redrawView() { drawTimeline(); drawThroughput(); }
    function wireTimeline(box) {
      const tip = $("tooltip");
      let drag = null;
      box.addEventListener("wheel", e => {
        e.preventDefault();
        const rect = box.getBoundingClientRect();
        zoom(e.deltaY < 0 ? 1 / 1.25 : 1.25, (e.clientX - rect.left) / box.clientWidth);
      }, { passive: false });
      box.addEventListener("mousedown", e => { drag = { x: e.clientX, view: R.view, moved: false }; });
      window.addEventListener("mousemove", e => {
        if (drag) {
          const dx = e.clientX - drag.x;
          if (Math.abs(dx) > 3) { drag.moved = true; box.classList.add("dragging"); }
          if (drag.moved) {
            const shift = dx / box.clientWidth * (drag.view.t1 - drag.view.t0);
            R.view = { t0: drag.view.t0 - shift, t1: drag.view.t1 - shift };
            redrawView();
          }
        }
      });
      window.addEventListener("mouseup", () => { setTimeout(() => { drag = null; }, 0); box.classList.remove("dragging"); });
      box.addEventListener("mousemove", e => {
        const i = sessionAtEvent(e);
        if (i === undefined || (drag && drag.moved)) { tip.hidden = true; return; }
        tip.textContent = describeSession(i);
        tip.hidden = false;
        tip.style.left = Math.min(e.clientX + 14, window.innerWidth - 430) + "px";
        tip.style.top = (e.clientY + 14) + "px";
      });
      box.addEventListener("mouseleave", () => { tip.hidden = true; });
      box.addEventListener("click", e => {
        if (drag && drag.moved) return;
        const i = sessionAtEvent(e);
        if (i !== undefined) showSession(D.sessions.index[i]);
      });
      box.addEventListener("dblclick", () => { R.view = fullView(); redrawView(); });
      $("zoom-in").addEventListener("click", () => zoom(1 / 1.5, 0.5));
      $("zoom-out").addEventListener("click", () => zoom(1.5, 0.5));
      $("zoom-reset").addEventListener("click", () => { R.view = fullView(); redrawView(); });
      window.addEventListener("resize", () => redrawView());
    }
    """#
}
