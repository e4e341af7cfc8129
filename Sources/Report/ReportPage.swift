import Foundation
import Mustache
import Recording

/// Renders a report's data as one self-contained HTML page: the Mustache
/// template with the header filled in, the stylesheet and script inline,
/// and the data as JSON in the page. Nothing is fetched from the network.
public enum ReportPage {
    private static let template: MustacheTemplate = {
        do {
            return try MustacheTemplate(string: PageTemplate.page)
        } catch {
            preconditionFailure("the report template does not parse: \(error)")
        }
    }()

    public static func render(_ data: ReportData) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let json = String(decoding: try encoder.encode(data), as: UTF8.self)
        var context: [String: Any] = [
            "title": data.title,
            "generated": data.generated,
            "version": TapedeckVersion.current,
            "facts": data.facts.map { ["key": $0.key, "label": $0.label, "value": $0.value] },
            "warnings": data.warnings,
            "hasSettings": !data.settings.isEmpty || !data.redact.isEmpty,
            "settings": data.settings.sorted { $0.key < $1.key }.map { ["key": $0.key, "value": $0.value] }
                + data.redact.map { ["key": "redact", "value": $0] },
            "legend": PageStyle.colors.map { ["label": $0.label, "color": $0.color] },
            "style": PageStyle.css,
            "script": script,
            "data": scriptSafe(json),
        ]
        if let refresh = data.refreshSeconds {
            context["live"] = true
            context["refresh"] = refresh
        }
        return template.render(context)
    }

    /// The script, with the bar colours filled in.
    static let script: String = {
        let colors = PageStyle.colors.map { "\"\($0.kind.rawValue)\": \"\($0.color)\"" }.joined(separator: ", ")
        return PageScript.all.replacingOccurrences(of: "__COLORS__", with: "{\(colors)}")
    }()

    /// JSON that cannot end the `<script>` element it sits in: every `<`
    /// (found only inside strings) written as `\u003c`.
    static func scriptSafe(_ json: String) -> String {
        json.replacingOccurrences(of: "<", with: "\\u003c")
    }
}
