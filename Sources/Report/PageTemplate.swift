/// The page's Mustache template: the summary header is rendered here, in
/// Swift; the rest is drawn by the inline script from the embedded data.
enum PageTemplate {
    static let page = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="generator" content="tapedeck {{version}}">
    <title>{{title}}</title>
    <style>{{{style}}}</style>
    </head>
    <body>
    <header id="summary">
      <h1>{{title}}</h1>
      <p class="subtitle">tapedeck report · {{generated}}{{#live}} · <span id="live-status">live, refreshed every {{refresh}} s</span>{{/live}}</p>
      <dl class="facts">
        {{#facts}}<div class="fact"><dt>{{label}}</dt><dd data-fact="{{key}}">{{value}}</dd></div>
        {{/facts}}
      </dl>
      {{#warnings}}<p class="warning">{{.}}</p>
      {{/warnings}}
      {{#hasSettings}}<details class="settings"><summary>Recording settings (manifest)</summary><table>
        {{#settings}}<tr><th>{{key}}</th><td><code>{{value}}</code></td></tr>
        {{/settings}}</table></details>{{/hasSettings}}
    </header>
    <main>
    <section id="timeline-section">
      <h2>Sessions</h2>
      <div class="toolbar">
        <span class="legend">{{#legend}}<span class="key"><i style="background:{{color}}"></i>{{label}}</span>{{/legend}}<span class="key"><i class="fault-key"></i>fault</span></span>
        <span class="controls"><button id="zoom-in" title="zoom in">+</button><button id="zoom-out" title="zoom out">−</button><button id="zoom-reset" title="whole span">reset</button><span id="view-range"></span></span>
      </div>
      <p class="hint">Wheel or +/− to zoom, drag to pan, double-click to reset; hover a bar for its bytes, click it for its exchanges.</p>
      <div id="timeline"></div>
      <canvas id="axis" height="22"></canvas>
      <div id="tooltip" hidden></div>
    </section>
    <section id="throughput-section">
      <h2>Throughput</h2>
      <div class="legend"><span class="key"><i style="background:var(--c2s)"></i>client → server</span><span class="key"><i style="background:var(--s2c)"></i>server → client</span><span class="key"><i style="background:var(--count)"></i>sessions open</span></div>
      <canvas id="throughput" height="190"></canvas>
    </section>
    <section id="exchanges-section">
      <h2 id="exchanges-title">Exchanges</h2>
      <p id="latency-stats"></p>
      <canvas id="latency-histogram" height="120"></canvas>
      <div class="table-wrap"><table id="exchanges"><thead><tr>
        <th data-key="session">session</th><th data-key="ordinal">#</th><th data-key="at">at</th><th data-key="request">request</th><th data-key="latency">latency</th><th data-key="req_bytes">request bytes</th><th data-key="resp_bytes">answer bytes</th>
      </tr></thead><tbody></tbody></table></div>
      <p id="exchanges-note"></p>
    </section>
    <section id="detail-section" hidden>
      <h2 id="detail-title">Session</h2>
      <div id="detail"></div>
    </section>
    <section id="replay-section" hidden>
      <h2>Replay comparison</h2>
      <div id="replay"></div>
    </section>
    </main>
    <script id="report-data" type="application/json">{{{data}}}</script>
    <script>{{{script}}}</script>
    </body>
    </html>
    """#
}
