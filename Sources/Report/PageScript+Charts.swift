extension PageScript {
    /// Throughput each way over the timeline's view, with the sessions open
    /// beneath; bins narrower than a pixel are summed into it.
    static let charts = #"""
    function openCounts() {
      if (R.openCounts) return R.openCounts;
      const s = D.sessions, bin = D.throughput.bin_us, bins = Math.max(D.throughput.c2s.length, Math.ceil(D.span_us / bin) + 1);
      const diff = new Int32Array(bins + 1);
      for (let i = 0; i < s.index.length; i++) {
        const a = Math.max(0, Math.floor(s.start[i] / bin)), b = Math.min(bins - 1, Math.floor((s.start[i] + s.duration[i]) / bin));
        diff[a]++; diff[b + 1]--;
      }
      const counts = new Int32Array(bins); let run = 0;
      for (let i = 0; i < bins; i++) { run += diff[i]; counts[i] = run; }
      R.openCounts = counts;
      return counts;
    }
    function drawThroughput() {
      const canvas = $("throughput");
      const { ctx, width, height } = canvasContext(canvas, 190);
      const tp = D.throughput, bin = tp.bin_us, counts = openCounts();
      const top = 8, rateH = 120, countTop = 140, countH = 40;
      const cols = Math.max(1, Math.floor(width));
      const c2s = new Float64Array(cols), s2c = new Float64Array(cols), open = new Int32Array(cols);
      const span = R.view.t1 - R.view.t0, pixel = span / width;
      // rates in bytes per second: a bin wider than a pixel spreads over its columns, narrower bins add up in one
      if (bin >= pixel) {
        for (let x = 0; x < cols; x++) {
          const b = Math.floor((R.view.t0 + (x + 0.5) * pixel) / bin);
          if (b < 0 || b >= counts.length) continue;
          c2s[x] = (tp.c2s[b] || 0) / (bin / 1e6); s2c[x] = (tp.s2c[b] || 0) / (bin / 1e6); open[x] = counts[b];
        }
      } else {
        for (let b = Math.max(0, Math.floor(R.view.t0 / bin)); b < counts.length && b * bin <= R.view.t1; b++) {
          const x = Math.floor(xOf(b * bin + bin / 2, width));
          if (x < 0 || x >= cols) continue;
          c2s[x] += (tp.c2s[b] || 0) / (pixel / 1e6); s2c[x] += (tp.s2c[b] || 0) / (pixel / 1e6);
          open[x] = Math.max(open[x], counts[b]);
        }
      }
      let maxRate = 1, maxOpen = 1;
      for (let x = 0; x < cols; x++) { maxRate = Math.max(maxRate, c2s[x], s2c[x]); maxOpen = Math.max(maxOpen, open[x]); }
      ctx.strokeStyle = "#e3e6eb"; ctx.beginPath(); ctx.moveTo(0, top + rateH + 0.5); ctx.lineTo(width, top + rateH + 0.5); ctx.stroke();
      for (const [series, color] of [[c2s, getComputedStyle(document.body).getPropertyValue("--c2s") || "#2f6fd0"], [s2c, getComputedStyle(document.body).getPropertyValue("--s2c") || "#e07a1f"]]) {
        ctx.strokeStyle = color.trim(); ctx.lineWidth = 1.5; ctx.beginPath();
        let started = false;
        for (let x = 0; x < cols; x++) {
          const y = top + rateH - series[x] / maxRate * (rateH - 14);
          if (!started) { ctx.moveTo(x, y); started = true; } else ctx.lineTo(x, y);
        }
        ctx.stroke();
      }
      ctx.fillStyle = "#b9bec7";
      for (let x = 0; x < cols; x++) {
        if (!open[x]) continue;
        const h = open[x] / maxOpen * (countH - 4);
        ctx.fillRect(x, countTop + countH - h, 1, h);
      }
      ctx.font = "11px system-ui, sans-serif";
      for (const [text, y] of [[fmtBytes(Math.round(maxRate)) + "/s", top + 10], [maxOpen + " open", countTop + 10]]) {
        ctx.fillStyle = "rgba(255,255,255,0.85)"; ctx.fillRect(2, y - 10, ctx.measureText(text).width + 4, 13);
        ctx.fillStyle = "#667085"; ctx.fillText(text, 4, y);
      }
      canvas.dataset.bins = String(tp.c2s.length);
    }
    function percentile(sorted, p) {
      if (!sorted.length) return -1;
      return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * p) - 1))];
    }
    function drawLatencyHistogram() {
      const lat = D.exchanges.latency.filter(v => v >= 0).sort((a, b) => a - b);
      const stats = $("latency-stats"), canvas = $("latency-histogram");
      const answered = lat.length, total = D.exchanges.latency.length;
      const turns = total > 0 && D.exchanges.turn.every(t => t === 1);
      $("exchanges-title").textContent = turns ? "Turns" : "Exchanges";
      if (!answered) { stats.textContent = total ? total + " requests, none answered" : "No requests in this capture."; canvas.hidden = true; return; }
      canvas.hidden = false;
      const p50 = percentile(lat, 0.5), p99 = percentile(lat, 0.99);
      stats.innerHTML = "";
      stats.append("latency (last request byte → first answer byte) · p50 ", el("b", { id: "p50" }, fmtDur(p50)),
        " · p99 ", el("b", { id: "p99" }, fmtDur(p99)), " · max " + fmtDur(lat[lat.length - 1]) + " · " + answered + " answered" + (total > answered ? ", " + (total - answered) + " not" : ""));
      const { ctx, width, height } = canvasContext(canvas, 120);
      const lo = Math.log10(Math.max(1, lat[0])), hi = Math.log10(Math.max(2, lat[lat.length - 1])) + 1e-9;
      const binsN = Math.min(60, Math.max(10, Math.floor(width / 14)));
      const bins = new Array(binsN).fill(0);
      for (const v of lat) bins[Math.min(binsN - 1, Math.floor((Math.log10(Math.max(1, v)) - lo) / (hi - lo || 1) * binsN))]++;
      const maxBin = Math.max(...bins), bw = width / binsN, plotH = height - 18;
      ctx.fillStyle = "#2f6fd0";
      bins.forEach((c, i) => { const h = c / maxBin * (plotH - 4); ctx.fillRect(i * bw + 1, plotH - h, bw - 2, h); });
      ctx.fillStyle = "#667085"; ctx.font = "11px system-ui, sans-serif";
      ctx.fillText(fmtDur(Math.round(Math.pow(10, lo))), 2, height - 4);
      const hiText = fmtDur(Math.round(Math.pow(10, hi)));
      ctx.fillText(hiText, width - ctx.measureText(hiText).width - 2, height - 4);
      for (const [p, label] of [[p50, "p50"], [p99, "p99"]]) {
        const x = (Math.log10(Math.max(1, p)) - lo) / (hi - lo || 1) * width;
        ctx.fillStyle = "#d7263d"; ctx.fillRect(x, 0, 1.5, plotH);
        ctx.fillText(label, Math.min(x + 3, width - 24), 11);
      }
    }
    """#
}
