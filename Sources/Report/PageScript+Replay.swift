extension PageScript {
    /// The replay comparison (`--replay`), and the start: everything drawn
    /// once, then again on each refresh of a live page.
    static let replay = #"""
    function renderReplay() {
      const r = D.replay, section = $("replay-section"), box = $("replay");
      if (!r) { section.hidden = true; return; }
      section.hidden = false; section.dataset.kind = r.kind;
      box.replaceChildren(el("p", { class: "meta" }, "replay " + r.kind + " report: " + r.file));
      const counts = el("div", { class: "replay-counts" });
      for (const [label, value] of r.counts) { const d = el("div", { "data-count": label }); d.append(el("b", {}, value), label); counts.append(d); }
      box.append(counts);
      const order = ["exact", "masked", "key", "nearest"];
      const tiers = Object.keys(r.matched).sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));
      if (tiers.length || r.unmatched_count) {
        box.append(el("h3", {}, "Requests matched, by tier"));
        const bars = el("div", { class: "bars" }), all = tiers.map(t => r.matched[t]).concat([r.unmatched_count]), max = Math.max(1, ...all);
        for (const [label, value] of tiers.map(t => [t, r.matched[t]]).concat([["unmatched", r.unmatched_count]])) {
          const row = el("div", { class: "row" }), fill = el("div", { class: "fill" });
          fill.style.width = (value / max * 100) + "%"; if (label === "unmatched") fill.style.background = COLORS.rst;
          row.append(el("span", {}, label), fill, el("span", {}, String(value))); bars.append(row);
        }
        box.append(bars);
      }
      if (r.timing) {
        box.append(el("h3", {}, "Send-time error (" + r.timing.samples + " sends; the report keeps these percentiles, not each send)"));
        const bars = el("div", { class: "bars" }), t = r.timing;
        const items = [["p50", t.p50_us], ["p99", t.p99_us], ["max", t.max_us], ["end drift", t.end_us]], max = Math.max(1, ...items.map(i => i[1]));
        for (const [label, value] of items) {
          const row = el("div", { class: "row" }), fill = el("div", { class: "fill" });
          fill.style.width = (value / max * 100) + "%";
          row.append(el("span", {}, label), fill, el("span", {}, fmtDur(Math.round(value)))); bars.append(row);
        }
        box.append(bars);
      }
      function table(title, heads, rows) {
        if (!rows.length) return;
        box.append(el("h3", {}, title));
        const t = el("table", { class: "plain" }), head = el("tr");
        heads.forEach(h => head.append(el("th", {}, h))); t.append(head);
        for (const cells of rows) {
          const tr = el("tr");
          for (const c of cells) { const td = el("td"); if (c instanceof Node) td.append(c); else td.textContent = c; tr.append(td); }
          t.append(tr);
        }
        box.append(t);
      }
      table("Exchanges that answered differently", ["session", "exchange", "request", "differences"],
        r.differences.map(d => [sessionLink(d.session), String(d.exchange), d.request, d.differences.join("; ")]));
      table("Unmatched requests (" + r.unmatched_count + ")", ["connection", "request", "nearest recorded", "difference"],
        r.unmatched.map(u => [String(u.connection), u.request, u.nearest ? u.nearest + (u.nearest_session !== undefined ? " (#" + u.nearest_session + ")" : "") : "—", u.difference || ""]));
      table("Recorded exchanges never used (" + r.unused_count + ")", ["session", "exchange", "request"],
        r.unused.map(u => [sessionLink(u.session), String(u.exchange), u.request]));
      table("Byte differences", ["session", "direction", "offset", "reason"],
        r.mismatches.map(m => [sessionLink(m.session), m.direction, String(m.offset), m.reason]));
      table("Sessions that could not be played", ["session", "reason"], r.failures.map(f => [sessionLink(f.session), f.reason]));
      if (r.sessions_marked.length) {
        const p = el("p", {}, r.kind === "serve" ? "Sessions no request used: " : "Sessions that differed: ");
        r.sessions_marked.slice(0, 300).forEach((s, k) => { if (k) p.append(" "); p.append(sessionLink(s)); });
        box.append(p);
      }
    }
    """#

    static let start = #"""
    function renderAll(keepView) {
      R.positions = null; R.openCounts = null; R.exchangesBySession = null;
      if (!keepView || !R.view) R.view = fullView();
      setupTimeline(); drawTimeline(); drawThroughput(); setupExchanges(); renderReplay();
      if (R.selected !== null && keepView) { const y = window.scrollY; showSession(R.selected); window.scrollTo(0, y); }
    }
    renderAll(false);
    document.body.dataset.drawMs = performance.now().toFixed(0);
    document.body.dataset.ready = "1";
    if (D.refresh_s) {
      let refreshes = 0;
      setInterval(async () => {
        try {
          const response = await fetch(location.pathname + "?format=json", { cache: "no-store" });
          if (!response.ok) throw new Error("HTTP " + response.status);
          D = await response.json();
          const zoomed = R.view && (R.view.t0 !== fullView().t0);
          renderAll(true);
          if (!zoomed) { R.view = fullView(); redrawView(); }
          for (const node of document.querySelectorAll("[data-fact]")) {
            const fact = (D.facts || []).find(f => f.key === node.dataset.fact); if (fact) node.textContent = fact.value;
          }
          document.body.dataset.refreshes = String(++refreshes);
          $("live-status").textContent = "live, refreshed " + new Date().toLocaleTimeString();
        } catch (error) {
          $("live-status").textContent = "live page: refresh failed (" + error.message + "); retrying";
        }
      }, D.refresh_s * 1000);
    }
    """#
}
