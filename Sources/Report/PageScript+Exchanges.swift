extension PageScript {
    /// The exchanges table: sortable by any column, the first rows of the
    /// chosen order shown; a row opens its session.
    static let exchanges = #"""
    const TABLE_ROWS = 500;
    function setupExchanges() {
      const heads = document.querySelectorAll("#exchanges th");
      heads.forEach(th => {
        if (th.dataset.wired) return;
        th.dataset.wired = "1";
        th.addEventListener("click", () => {
          const key = th.dataset.key;
          R.exchangeSort = { key, dir: R.exchangeSort.key === key ? -R.exchangeSort.dir : (key === "latency" ? -1 : 1) };
          renderExchanges();
        });
      });
      renderExchanges();
    }
    function renderExchanges() {
      const x = D.exchanges, n = x.session.length, { key, dir } = R.exchangeSort;
      const order = Array.from({ length: n }, (_, i) => i);
      const column = key === "request" ? x.request : x[key];
      if (key === "request") order.sort((a, b) => dir * (column[a] < column[b] ? -1 : column[a] > column[b] ? 1 : a - b));
      else order.sort((a, b) => dir * ((column[a] - column[b]) || (x.at[a] - x.at[b]) || (a - b)));
      document.querySelectorAll("#exchanges th").forEach(th => {
        th.classList.toggle("sorted-asc", th.dataset.key === key && dir > 0);
        th.classList.toggle("sorted-desc", th.dataset.key === key && dir < 0);
      });
      const body = document.querySelector("#exchanges tbody");
      const rows = document.createDocumentFragment();
      for (const i of order.slice(0, TABLE_ROWS)) {
        const tr = el("tr", { "data-session": x.session[i], "data-exchange": x.ordinal[i] });
        tr.append(el("td", { class: "num" }, "#" + x.session[i]), el("td", { class: "num" }, String(x.ordinal[i])),
          el("td", {}, fmtAt(x.at[i])), el("td", { class: "request", title: x.request[i] }, x.request[i]),
          el("td", { class: "num latency" }, fmtDur(x.latency[i])), el("td", { class: "num" }, fmtBytes(x.req_bytes[i])),
          el("td", { class: "num" }, fmtBytes(x.resp_bytes[i])));
        tr.addEventListener("click", () => showSession(x.session[i], x.ordinal[i]));
        rows.append(tr);
      }
      body.replaceChildren(rows);
      const notes = [];
      if (n > TABLE_ROWS) notes.push("showing the first " + TABLE_ROWS + " of " + n + " in this order; sort by another column to see others");
      if (x.left_out) notes.push(x.left_out + " more exchanges are counted but not listed (page budget)");
      if (!n) notes.push("no requests: the sessions carried no client bytes");
      $("exchanges-note").textContent = notes.join(" · ");
      drawLatencyHistogram();
    }
    """#
}
