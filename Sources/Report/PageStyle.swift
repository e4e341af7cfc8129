/// The page's stylesheet, inline. The bar colours are the legend's.
enum PageStyle {
    static let colors: [(kind: EndKind, label: String, color: String)] = [
        (.fin, "FIN", "#3f9a5a"),
        (.rst, "RST", "#d7263d"),
        (.gap, "gap", "#e8a317"),
        (.open, "still open", "#2f6fd0"),
        (.mid, "started mid-flow", "#8a5cc2"),
    ]

    static let css = #"""
    :root { --c2s: #2f6fd0; --s2c: #e07a1f; --count: #b9bec7; --fault: #111; --ink: #1d2430; --muted: #667085; --line: #e3e6eb; }
    * { box-sizing: border-box; }
    body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #f7f8fa; }
    header#summary { padding: 18px 24px 8px; background: #fff; border-bottom: 1px solid var(--line); }
    h1 { margin: 0; font-size: 22px; } h2 { font-size: 16px; margin: 0 0 8px; }
    .subtitle { margin: 2px 0 10px; color: var(--muted); }
    .facts { display: flex; flex-wrap: wrap; gap: 6px 22px; margin: 0; }
    .fact dt { font-size: 11px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
    .fact dd { margin: 0; font-weight: 600; max-width: 60ch; overflow-wrap: anywhere; }
    .warning { color: #8a4b00; background: #fff4e0; padding: 4px 8px; border-radius: 4px; }
    .settings { margin: 8px 0; } .settings th { text-align: left; padding-right: 12px; font-weight: 500; color: var(--muted); }
    main { padding: 12px 24px 40px; }
    section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 12px 14px; margin-bottom: 14px; position: relative; }
    .toolbar { display: flex; justify-content: space-between; flex-wrap: wrap; gap: 8px; align-items: center; }
    .legend .key { margin-right: 14px; white-space: nowrap; } .legend i { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 5px; vertical-align: -1px; }
    .legend i.fault-key { background: none; width: 0; height: 0; border-left: 6px solid transparent; border-right: 6px solid transparent; border-top: 10px solid var(--fault); border-radius: 0; }
    .controls button { border: 1px solid var(--line); background: #fff; border-radius: 4px; padding: 2px 9px; margin-left: 4px; cursor: pointer; }
    #view-range { margin-left: 10px; color: var(--muted); font-variant-numeric: tabular-nums; }
    .hint { color: var(--muted); font-size: 12px; margin: 4px 0 6px; }
    #timeline { position: relative; width: 100%; overflow: hidden; cursor: grab; border: 1px solid var(--line); background: #fcfcfd; }
    #timeline.dragging { cursor: grabbing; }
    #timeline svg, #timeline canvas { display: block; }
    #timeline rect.bar { cursor: pointer; } #timeline rect.bar:hover { stroke: #000; stroke-width: 1; }
    #axis, #throughput, #latency-histogram { width: 100%; display: block; }
    #tooltip { position: fixed; z-index: 10; pointer-events: none; background: #1d2430; color: #fff; padding: 6px 8px; border-radius: 4px; font-size: 12px; max-width: 420px; white-space: pre-line; }
    .table-wrap { max-height: 420px; overflow: auto; border: 1px solid var(--line); }
    table#exchanges { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
    #exchanges th { position: sticky; top: 0; background: #f0f2f5; text-align: left; padding: 4px 8px; cursor: pointer; user-select: none; white-space: nowrap; }
    #exchanges th.sorted-asc::after { content: " ▲"; } #exchanges th.sorted-desc::after { content: " ▼"; }
    #exchanges td { padding: 3px 8px; border-top: 1px solid var(--line); } #exchanges tbody tr { cursor: pointer; } #exchanges tbody tr:hover { background: #eef4ff; }
    #exchanges td.request { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; max-width: 60ch; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
    #exchanges td.num { text-align: right; }
    #exchanges-note, #latency-stats { color: var(--muted); margin: 4px 0; }
    .exchange { border: 1px solid var(--line); border-radius: 4px; margin: 8px 0; }
    .exchange > h3 { margin: 0; padding: 4px 8px; font-size: 13px; background: #f0f2f5; font-weight: 600; }
    .exchange > h3 .latency { color: var(--muted); font-weight: 400; margin-left: 8px; }
    .sides { display: grid; grid-template-columns: 1fr 1fr; gap: 0; }
    .side { padding: 6px 8px; min-width: 0; } .side + .side { border-left: 1px solid var(--line); }
    .side h4 { margin: 0 0 4px; font-size: 11px; text-transform: uppercase; color: var(--muted); }
    .panes { display: grid; grid-template-columns: minmax(0, 1fr) auto; gap: 8px; }
    pre { margin: 0; font: 11.5px/1.35 ui-monospace, Menlo, Consolas, monospace; white-space: pre-wrap; overflow-wrap: anywhere; max-height: 300px; overflow: auto; background: #fafbfc; padding: 4px; border-radius: 3px; }
    pre.hex { white-space: pre; overflow-x: auto; color: #3b4556; font-size: 11px; max-width: 100%; }
    .events { width: 100%; border-collapse: collapse; font-size: 12px; } .events td { border-top: 1px solid var(--line); padding: 3px 6px; vertical-align: top; }
    .events tr.gap td { background: #fff4e0; color: #8a4b00; font-weight: 600; } .events tr.close td { color: var(--muted); }
    .gapline { background: #fff4e0; color: #8a4b00; font-weight: 600; padding: 2px 6px; margin: 4px 0; }
    .meta { color: var(--muted); margin: 0 0 6px; }
    .replay-counts { display: flex; flex-wrap: wrap; gap: 6px 20px; }
    .replay-counts div b { display: block; font-size: 18px; }
    .bars .row { display: grid; grid-template-columns: 120px 1fr 90px; align-items: center; gap: 8px; margin: 2px 0; }
    .bars .fill { height: 12px; background: var(--c2s); border-radius: 2px; }
    a.session-link { color: var(--c2s); cursor: pointer; text-decoration: underline; }
    table.plain { border-collapse: collapse; } table.plain td, table.plain th { padding: 2px 8px; border-top: 1px solid var(--line); text-align: left; vertical-align: top; }
    """#
}
