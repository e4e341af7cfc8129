extension PageScript {
    /// One session: its exchanges as text and hex, client beside server,
    /// then every event in order with gaps, FINs and RSTs marked.
    static let detail = #"""
    const PANE_LIMIT = 4096;
    function printable(bytes) {
      let out = "";
      for (let i = 0; i < bytes.length; i++) {
        const b = bytes[i];
        // CR LF reads as a line break; the hex beside shows every byte
        if (b === 10) out += "\n"; else if (b === 13 && bytes[i + 1] === 10) continue; else if (b === 9) out += "\t";
        else if (b >= 32 && b < 127) out += String.fromCharCode(b); else out += "\u00b7";
      }
      return out;
    }
    function hexDump(bytes, base) {
      const lines = [];
      for (let i = 0; i < bytes.length; i += 16) {
        const row = Array.from(bytes.slice(i, i + 16), b => b.toString(16).padStart(2, "0"));
        lines.push((base + i).toString(16).padStart(6, "0") + "  " + row.slice(0, 8).join(" ") + "  " + row.slice(8).join(" "));
      }
      return lines.join("\n");
    }
    function panes(bytes, base, omittedNote) {
      const shown = bytes.slice(0, PANE_LIMIT);
      const wrap = el("div", { class: "panes" });
      const text = el("pre", { class: "text" }, printable(shown) + (bytes.length > PANE_LIMIT ? "\n… " + (bytes.length - PANE_LIMIT) + " more bytes" : "") + (omittedNote || ""));
      wrap.append(text, el("pre", { class: "hex" }, hexDump(shown, base)));
      return wrap;
    }
    function streams(detail) {
      const parts = [[], []], lengths = [0, 0];
      for (const ev of detail.events) if (ev[2] === "d") { const b = b64bytes(ev[3]); parts[ev[0]].push(b); lengths[ev[0]] += b.length; }
      return parts.map((list, side) => { const all = new Uint8Array(lengths[side]); let o = 0; for (const b of list) { all.set(b, o); o += b.length; } return all; });
    }
    function exchangeRowsOf(index) {
      if (!R.exchangesBySession) {
        R.exchangesBySession = new Map();
        D.exchanges.session.forEach((s, i) => { if (!R.exchangesBySession.has(s)) R.exchangesBySession.set(s, []); R.exchangesBySession.get(s).push(i); });
      }
      return R.exchangesBySession.get(index) || [];
    }
    function showSession(index, exchange) {
      const i = sessionPosition(index);
      if (i === undefined) return;
      R.selected = index;
      const section = $("detail-section"), box = $("detail");
      section.hidden = false;
      section.dataset.session = index;
      $("detail-title").textContent = "Session #" + index;
      box.replaceChildren(el("p", { class: "meta" }, describeSession(i).replace(/\n/g, " · ")));
      const detail = D.details[String(index)];
      if (!detail) {
        box.append(el("p", { class: "warning" }, "This page does not carry this session's bytes (over its size budget). tapedeck inspect FILE --session " + index + " --dump client (or server) writes them."));
        section.scrollIntoView({ block: "start" });
        return;
      }
      const [client, server] = streams(detail);
      const x = D.exchanges;
      const rows = exchangeRowsOf(index);
      for (const r of rows) {
        const off = x.offsets.slice(4 * r, 4 * r + 4);
        const block = el("div", { class: "exchange", "data-exchange": x.ordinal[r] });
        const head = el("h3", {}, (x.turn[r] ? "turn " : "exchange ") + x.ordinal[r] + ": " + x.request[r]);
        head.append(el("span", { class: "latency" }, x.latency[r] >= 0 ? "answered after " + fmtDur(x.latency[r]) : "no answer"));
        const sides = el("div", { class: "sides" });
        const c = el("div", { class: "side client" }); c.append(el("h4", {}, "client · " + fmtBytes(x.req_bytes[r])));
        c.append(panes(client.slice(off[0], off[1]), off[0], off[1] > client.length ? "\n(the page holds the first " + fmtBytes(client.length) + " of this side)" : ""));
        const s = el("div", { class: "side server" }); s.append(el("h4", {}, "server · " + fmtBytes(x.resp_bytes[r])));
        if (off[2] >= 0) s.append(panes(server.slice(off[2], off[3]), off[2], off[3] > server.length ? "\n(the page holds the first " + fmtBytes(server.length) + " of this side)" : ""));
        else s.append(el("p", { class: "meta" }, "nothing answered"));
        sides.append(c, s); block.append(head, sides); box.append(block);
      }
      const table = el("table", { class: "events" });
      const offsets = [0, 0];
      let shown = 0;
      for (const ev of detail.events) {
        if (shown++ >= 300) { const more = el("tr"); more.append(el("td", { colspan: 3 }, "… " + (detail.events.length - 300) + " more events")); table.append(more); break; }
        const side = ev[0] === 0 ? "client" : "server", tr = el("tr");
        tr.append(el("td", {}, "+" + fmtDur(ev[1])), el("td", {}, side));
        const cell = el("td");
        if (ev[2] === "d") { const b = b64bytes(ev[3]); cell.append(panes(b, offsets[ev[0]])); offsets[ev[0]] += b.length; }
        else if (ev[2] === "g") { tr.className = "gap"; cell.textContent = "gap: the capture lost " + fmtBytes(ev[3]) + " the " + side + " sent"; }
        else if (ev[2] === "f") { tr.className = "close"; cell.textContent = "FIN: the " + side + " closed its side"; }
        else if (ev[2] === "r") { tr.className = "close"; cell.textContent = "RST: the " + side + " reset the connection"; }
        tr.append(cell); table.append(tr);
      }
      const events = el("details", rows.length ? {} : { open: "" });
      events.append(el("summary", {}, "Every event, in order (" + detail.events.length + ")"), table);
      if (detail.omitted[0] || detail.omitted[1]) box.append(el("p", { class: "meta" }, "The page leaves out " + fmtBytes(detail.omitted[0]) + " the client sent and " + fmtBytes(detail.omitted[1]) + " the server sent (tapedeck inspect --session " + index + " --dump writes them)."));
      for (const ev of detail.events) if (ev[2] === "g") { box.append(el("p", { class: "gapline" }, "The capture lost bytes in this session: exchanges after the first gap are not framed.")); break; }
      box.append(events);
      if (exchange !== undefined) { const target = box.querySelector('.exchange[data-exchange="' + exchange + '"]'); if (target) { target.scrollIntoView({ block: "start" }); return; } }
      section.scrollIntoView({ block: "start" });
    }
    """#
}
